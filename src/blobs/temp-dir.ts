import { randomBytes } from "node:crypto";
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { processAlive } from "../core/process-alive.js";

/**
 * Temp names carry the owning pid (`<label>-p<pid>-<random>`), so a store starting up can tell
 * leftovers of a crashed process from the work of a live one sharing the directory.
 * The packages layer's own temp dirs (`.x.partial-p<pid>-…`) follow the same pattern.
 */
export function tempName(dir: string, label: string): string {
  return join(dir, `${label}-p${process.pid}-${randomBytes(8).toString("hex")}`);
}

/** Remove everything in `dir` whose owner process is no longer alive (or that names none). */
export async function sweepTempDir(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const pid = /-p(\d+)-/.exec(name)?.[1];
    if (pid !== undefined && (Number(pid) === process.pid || processAlive(Number(pid)))) continue;
    await rm(join(dir, name), { recursive: true, force: true });
  }
}

/** Whether `path` exists (ENOENT → false; other errors are thrown). */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}
