import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const MODULE = path.join(import.meta.dirname, "..", "..", "src", "sandbox", "fd-hygiene.ts");

/**
 * Run `body` in a Node child that inherits fds 100 and 200 (opened by a shell: not close-on-exec;
 * Node itself marks low inherited fds close-on-exec). Only fds 100-200 are reported (the test
 * runner may pass on fds of its own).
 */
function inChild(body: string): unknown {
  const script = `
    import { inheritableFds as all } from ${JSON.stringify(MODULE)};
    const inheritableFds = (from) => all(from).filter((fd) => fd >= 100 && fd <= 200);
    import fs from "node:fs";
    const out = [];
    ${body}
    process.stdout.write(JSON.stringify(out));
  `;
  const node = [process.execPath, "--import", "tsx", "--input-type=module", "-e", script];
  const r = spawnSync(
    "/bin/bash",
    ["-c", 'exec 100</dev/null 200</dev/null; exec "$@"', "sh", ...node],
    {
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8",
    },
  );
  return JSON.parse(r.stdout);
}

describe("inheritableFds", () => {
  it("finds inherited fds, and drops them once closed or reused close-on-exec", () => {
    expect(
      inChild(`
        out.push(inheritableFds(3));
        out.push(inheritableFds(101));
        fs.closeSync(100);
        out.push(inheritableFds(3));
        // Node's own fds are close-on-exec, also one given number 100 again.
        let fd = fs.openSync("/dev/null", "r");
        while (fd < 100) fd = fs.openSync("/dev/null", "r");
        out.push(fd, inheritableFds(3));
      `),
    ).toEqual([[100, 200], [200], [200], 100, [200]]);
  });
});
