// The helper commands of the sandbox (mkfs, mount, ip …) are started by a small Python process
// rather than by forking the platform: same results as execFile, in parallel, with timeouts,
// and a helper that dies fails only its own commands.
import fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { stopExecHelper } from "../../src/sandbox/exec-helper.js";
import { run } from "../../src/sandbox/exec.js";

const hasPython = fs.existsSync("/usr/bin/python3");

/** The name of the process that started the command. */
const parentName = async (): Promise<string> =>
  (await run("/bin/sh", ["-c", "cat /proc/$PPID/comm"])).stdout.trim();

afterAll(() => stopExecHelper());

describe.skipIf(!hasPython)("run() through the helper process", () => {
  it("runs commands from the helper with a clean environment, their exit codes and output", async () => {
    expect(await parentName()).toMatch(/^python3/);
    expect(await run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"])).toEqual({
      code: 3,
      stdout: "out\n",
      stderr: "err\n",
    });
    expect((await run("/usr/bin/env", [])).stdout).toBe("PATH=/usr/sbin:/usr/bin:/sbin:/bin\n");
    const missing = await run("/nonexistent/tool", ["x"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No such file/);
    // A failure that prints nothing says which command failed, as execFile's error does.
    expect(await run("/bin/false", [])).toEqual({
      code: 1,
      stdout: "",
      stderr: "Command failed: /bin/false",
    });
  });

  it("runs commands in parallel and ends one at its timeout with 137", async () => {
    const marks = Array.from({ length: 6 }, (_, i) =>
      run("/bin/sh", ["-c", `sleep 0.2; echo ${i}`]),
    );
    const slow = run("/bin/sleep", ["30"], 300);
    expect((await Promise.all(marks)).map((r) => r.stdout)).toEqual(
      ["0", "1", "2", "3", "4", "5"].map((n) => `${n}\n`),
    );
    const r = await slow;
    expect(r.code).toBe(137);
    expect(r.stderr).toMatch(/timed out after 300 ms/);
  });

  it("fails the commands of a helper that dies, and forks the next ones itself", async () => {
    expect(await parentName()).toMatch(/^python3/);
    const running = run("/bin/sleep", ["2"]);
    await new Promise((r) => setTimeout(r, 100));
    stopExecHelper();
    const failed = await running;
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/exited/);
    // Started again at most every 10 s; meanwhile the platform forks as before.
    expect(await parentName()).not.toMatch(/^python3/);
    expect((await run("/bin/echo", ["still works"])).stdout).toBe("still works\n");
  });
});
