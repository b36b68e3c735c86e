// Tier C's scratch dirs live under the data dir, one folder per platform process: a restart
// deletes what a platform killed with -9 left there, and leaves a running platform's alone.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { createPlainProcessSandbox } from "../../src/sandbox/plain-process.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "fngraph-tierc-tmp-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A pid no process has: past the kernel's pid_max. */
const deadPid = (): number => Number(fs.readFileSync("/proc/sys/kernel/pid_max", "utf8")) + 1;

describe("tier C scratch dirs", () => {
  it("deletes a dead platform's dirs at start, keeps a live one's, and its own at close", async () => {
    const tmpRoot = path.join(root, "plain-tmp");
    const dead = path.join(tmpRoot, String(deadPid()), "inst-1");
    const alive = path.join(tmpRoot, String(process.ppid), "inst-2");
    for (const d of [dead, alive, path.join(tmpRoot, "junk")]) {
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, "file"), "x");
    }
    const sb = createPlainProcessSandbox({ logger: silentLogger, tmpRoot });
    expect(fs.readdirSync(tmpRoot).sort()).toEqual(
      [String(process.ppid), String(process.pid)].sort(),
    );
    const own = sb.paths({ id: "i1", codeDir: root, runtimeDir: root }).tmpDir;
    expect(path.dirname(own)).toBe(path.join(tmpRoot, String(process.pid)));

    const p = await sb.launch({
      id: "i1",
      codeDir: root,
      runtimeDir: root,
      argv: ["/bin/sh", "-c", 'echo kept > "$TMPDIR/f"; exec sleep 1000'],
      env: { PATH: "/usr/bin:/bin", TMPDIR: own },
      memoryMb: 64,
      cpuMillicores: 300,
      tmpMb: 64,
      mounts: [],
      network: "full",
    });
    await expect.poll(() => fs.existsSync(path.join(own, "f"))).toBe(true);
    await sb.close();
    await p.exited;
    expect(fs.readdirSync(tmpRoot)).toEqual([String(process.ppid)]);
    expect(fs.readFileSync(path.join(alive, "file"), "utf8")).toBe("x");
  });
});
