import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { createBwrapSandbox } from "../../src/sandbox/bwrap-sandbox.js";
import type { BwrapSandbox } from "../../src/sandbox/bwrap-sandbox.js";
import { canRunTierB, collect, firstMessage, makeSpec, makeTempDir, nodeArgv } from "./helpers.js";

// Launched by fngraph-launch (the build in native/) or by the chain prlimit → setpriv.
describe.skipIf(!canRunTierB).each([
  { chain: "fngraph-launch", launcherPath: undefined },
  { chain: "the shell chain", launcherPath: null },
])("tier B sandbox (bwrap, rlimits, RSS polling), launched by $chain", ({ launcherPath }) => {
  let root: string;
  let dirs: { codeDir: string; runtimeDir: string };
  let sb: BwrapSandbox;

  beforeAll(async () => {
    root = makeTempDir("sbx-b");
    dirs = { codeDir: path.join(root, "code"), runtimeDir: path.join(root, "runtime") };
    fs.mkdirSync(dirs.codeDir);
    fs.mkdirSync(dirs.runtimeDir);
    sb = await createBwrapSandbox({
      tier: "B",
      logger: silentLogger,
      stateDir: path.join(root, "state"),
      cgroupPrefix: `testb${process.pid}`,
      rssPollMs: 20,
      launcherPath,
    });
  });
  afterAll(async () => {
    await sb?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("isolates the file system and passes only fds 0-3", async () => {
    const p = await sb.launch(
      makeSpec(dirs, [
        "/bin/sh",
        "-c",
        "ls /proc/self/fd | tr '\\n' ' '; echo; id -u; touch /opt/function/code/x 2>/dev/null; echo touch=$?",
      ]),
    );
    const out = await collect(p.stdout);
    await p.exited;
    const [fds, uid, touch] = out.trim().split("\n");
    // ls itself holds one more fd for the directory it lists.
    expect(
      fds
        ?.trim()
        .split(" ")
        .map(Number)
        .sort((a, b) => a - b)
        .slice(0, 4),
    ).toEqual([0, 1, 2, 3]);
    expect(fds?.trim().split(" ").length).toBe(5);
    expect(uid).toBe(process.getuid?.() === 0 ? "1003" : String(process.getuid?.()));
    expect(touch).toBe("touch=1");
  });

  it("kills a tree that exceeds its memory by RSS polling", async () => {
    const p = await sb.launch(
      makeSpec(
        dirs,
        nodeArgv(`
          await report({ started: true });
          const keep = [];
          // Slow enough (200 MB/s) that a 50 ms poll on a busy machine sees it before RLIMIT_DATA.
          setInterval(() => keep.push(Buffer.alloc(2 << 20, 1)), 10);
        `),
        { memoryMb: 128 },
      ),
    );
    await firstMessage(p);
    await p.exited;
    expect(p.oomKilled()).toBe(true);
    expect(p.peakMemoryBytes()).toBeGreaterThan(128 * 1024 * 1024);
  });

  it("kills setsid daemons with kill()", async () => {
    const p = await sb.launch(
      makeSpec(dirs, ["/bin/sh", "-c", "(setsid sleep 1002 &); echo ready >&3; exec sleep 1003"]),
    );
    await new Promise<void>((resolve) => p.channel.once("data", () => resolve()));
    await p.kill();
    const exit = await p.exited;
    expect(exit.signal === "SIGKILL" || exit.code === 137).toBe(true);
  });
});
