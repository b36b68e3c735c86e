import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { spawnChild } from "./child.js";
import { FLOOR_HANDLERS } from "./handlers.js";

export interface Floor {
  readonly origin: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Start bench/floor-server.ts (a child process, via tsx) with the same handler sources. */
export async function startFloor(repoRoot: string): Promise<Floor> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "fngraph-bench-floor-"));
  for (const [name, source] of Object.entries(FLOOR_HANDLERS)) {
    mkdirSync(path.join(dir, name));
    writeFileSync(path.join(dir, name, "package.json"), '{ "type": "commonjs" }\n');
    writeFileSync(path.join(dir, name, "index.js"), source);
  }
  const script = fileURLToPath(new URL("../floor-server.ts", import.meta.url));
  const child = spawnChild(process.execPath, ["--import", "tsx", script, dir], { cwd: repoRoot });
  const stop = async (): Promise<void> => {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const line = await child.waitForLine(/^\{"port"/, 30_000);
    const { port } = JSON.parse(line) as { port: number };
    return { origin: `http://127.0.0.1:${port}`, pid: child.pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
