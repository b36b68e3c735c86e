import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findLauncher, launcherArgv, shellChainArgv } from "../../src/sandbox/launcher.js";
import { makeTempDir } from "./helpers.js";

const isRoot = process.getuid?.() === 0;

describe("the launch chain's argv", () => {
  const steps = {
    procs: ["/cg/memory/g/cgroup.procs", "/cg/cpu/g/cgroup.procs"],
    nofile: 1024,
    closeFrom: 5,
    ids: { uid: 1003, gid: 1004 },
    netns: "/run/netns/n1",
  };
  const tools = { setprivPath: "/usr/bin/setpriv", prlimitPath: "/usr/bin/prlimit" };

  it("gives the launcher every step, then the program", () => {
    expect(launcherArgv("/x/fngraph-launch", steps, ["/usr/bin/bwrap", "--a"])).toEqual([
      "/x/fngraph-launch",
      ...["--procs", "/cg/memory/g/cgroup.procs", "--procs", "/cg/cpu/g/cgroup.procs"],
      ...["--nofile", "1024", "--close-from", "5", "--netns", "/run/netns/n1"],
      ...["--uid", "1003", "--gid", "1004", "--", "/usr/bin/bwrap", "--a"],
    ]);
    expect(launcherArgv("/l", { dataBytes: 5 }, ["/p"])).toEqual(["/l", "--data", "5", "--", "/p"]);
  });

  it("spells the same steps as sh, nsenter and setpriv without it", () => {
    // The test runner may have inherited fds of its own: they would be closed by the shell.
    const argv = shellChainArgv({ ...steps, closeFrom: 100_000 }, ["/usr/bin/bwrap"], tools);
    expect(argv).toEqual([
      "/bin/sh",
      "-c",
      'ulimit -n 1024 && echo $$ > /cg/memory/g/cgroup.procs && echo $$ > /cg/cpu/g/cgroup.procs && exec "$@"',
      "sh",
      ...["/usr/bin/nsenter", "--net=/run/netns/n1", "/usr/bin/setpriv", "--reuid=1003"],
      ...["--regid=1004", "--clear-groups", "--inh-caps=-all", "/usr/bin/bwrap"],
    ]);
    expect(shellChainArgv({ dataBytes: 7, nofile: 9 }, ["/p"], tools)).toEqual([
      ...["/usr/bin/prlimit", "--data=7", "--nofile=9", "--", "/p"],
    ]);
  });
});

describe.skipIf(!isRoot)("fngraph-launch", () => {
  let launcher: string;
  let dir: string;
  beforeAll(() => {
    // npm install builds it (scripts/build-launcher.mjs); a machine with a C compiler must have it.
    launcher = findLauncher() ?? "";
    expect(launcher, "native/fngraph-launch was not built (is there a C compiler?)").not.toBe("");
    dir = makeTempDir("launch");
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = (args: string[], extraFds = 0) => {
    const stdio: ("ignore" | "pipe")[] = ["ignore", "pipe", "pipe"];
    for (let i = 0; i < extraFds; i++) stdio.push("pipe");
    const r = spawnSync(launcher, args, { encoding: "utf8", stdio, env: {} });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it("is found by the platform, and not when turned off or broken", () => {
    expect(findLauncher({ FNGRAPH_LAUNCHER: "off" })).toBeUndefined();
    expect(findLauncher({ FNGRAPH_LAUNCHER: "/bin/false" })).toBeUndefined();
    expect(findLauncher({ FNGRAPH_LAUNCHER: path.join(dir, "missing") })).toBeUndefined();
    expect(findLauncher({ FNGRAPH_LAUNCHER: launcher })).toBe(launcher);
  });

  it("joins the groups, sets the limits, closes inherited fds and drops to the ids", () => {
    const procsA = path.join(dir, "a.procs");
    const procsB = path.join(dir, "b.procs");
    fs.writeFileSync(procsA, "");
    fs.writeFileSync(procsB, "");
    const script =
      'echo "pid=$$"; id -u; id -g; id -G; ulimit -n; ulimit -Hn; ulimit -d; ' +
      "grep -E '^Cap(Inh|Prm|Eff|Amb)' /proc/self/status | tr -s '\\t' ' '; " +
      "ls /proc/self/fd | tr '\\n' ' '";
    const r = run(
      [
        ...["--procs", procsA, "--procs", procsB, "--nofile", "77", "--data", "104857600"],
        ...["--close-from", "4", "--uid", "1003", "--gid", "1004"],
        ...["--", "/bin/sh", "-c", script],
      ],
      3, // fds 3, 4 and 5 are pipes: 4 and 5 must be gone, 3 stays
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const lines = r.out.trim().split("\n");
    // The shell exec'd in place of the launcher: the pid it wrote is the program's own.
    const pid = lines[0]?.replace("pid=", "");
    expect(fs.readFileSync(procsA, "utf8")).toBe(`${pid}\n`);
    expect(fs.readFileSync(procsB, "utf8")).toBe(`${pid}\n`);
    expect(lines.slice(1, 7)).toEqual(["1003", "1004", "1004", "77", "77", "102400"]);
    for (const cap of ["CapInh", "CapPrm", "CapEff", "CapAmb"]) {
      expect(r.out).toContain(`${cap}: 0000000000000000`);
    }
    // 0-3 and the directory ls reads.
    expect(lines.at(-1)?.trim().split(" ").map(Number)).toEqual([0, 1, 2, 3, 4]);
  });

  it("enters a network namespace before it drops the ids", () => {
    const name = `fngraph-lt${process.pid}`;
    const ip = spawnSync("ip", ["netns", "add", name]);
    if (ip.status !== 0) throw new Error(`ip netns add: ${String(ip.stderr)}`);
    try {
      const file = `/run/netns/${name}`;
      const want = fs.statSync(file).ino;
      const r = run([
        "--netns",
        file,
        "--uid",
        "1003",
        "--gid",
        "1003",
        "--",
        "/bin/sh",
        "-c",
        "stat -L -c %i /proc/self/ns/net",
      ]);
      expect(r.err).toBe("");
      expect(Number(r.out.trim())).toBe(want);
      const host = run(["--", "/bin/sh", "-c", "stat -L -c %i /proc/self/ns/net"]);
      expect(Number(host.out.trim())).not.toBe(want);
    } finally {
      spawnSync("ip", ["netns", "del", name]);
    }
  });

  it("refuses what it must not do, before the program starts", () => {
    const marker = path.join(dir, "ran");
    const touch = ["/bin/sh", "-c", `touch ${marker}`];
    const cases: [string[], RegExp][] = [
      [["--uid", "0", "--gid", "0", "--", ...touch], /ids: refusing to run as root/],
      [["--uid", "1003", "--", ...touch], /--uid and --gid go together/],
      [["--nofile", "12x", "--", ...touch], /--nofile: not a number/],
      [["--nofile", "-1", "--", ...touch], /--nofile: not a number/],
      [["--close-from", "2", "--", ...touch], /--close-from: must be 3 or more/],
      [["--bogus", "1", "--", ...touch], /--bogus: unknown option/],
      [["--procs", path.join(dir, "no", "such"), "--", ...touch], /cgroup: No such file/],
      [["--netns", path.join(dir, "nope"), "--", ...touch], /netns: No such file/],
      [["--", "sh", "-c", `touch ${marker}`], /an absolute path must follow --/],
      [["--nofile"], /--nofile: needs a value/],
      [["--", "/no/such/program"], /exec: No such file/],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      expect(r.code, args.join(" ")).toBe(127);
      expect(r.err, args.join(" ")).toMatch(message);
    }
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("--mkvol leaves no loop device attached when it cannot mount, and none after the unmount", () => {
    const template = path.join(dir, "template.img");
    fs.writeFileSync(template, "");
    fs.truncateSync(template, 16 * 1024 * 1024);
    const mk = spawnSync("mkfs.ext4", ["-q", "-F", "-O", "^has_journal", template]);
    expect(mk.status).toBe(0);
    const loopsOf = (img: string) => spawnSync("losetup", ["-j", img], { encoding: "utf8" }).stdout;
    // The kernel may finish an auto-clear a moment after the last close.
    const loopsSettled = (img: string) => {
      for (let i = 0; i < 50 && loopsOf(img) !== ""; i++) spawnSync("sleep", ["0.02"]);
      return loopsOf(img);
    };

    // No mount point: the device it attached detaches itself when the launcher exits.
    const lost = path.join(dir, "lost.img");
    const r = run(["--mkvol", template, lost, path.join(dir, "no-such-dir")]);
    expect(r.code).toBe(127);
    expect(r.err).toMatch(/mkvol: mount: No such file/);
    expect(loopsSettled(lost)).toBe("");
    // An image that exists already is never overwritten.
    expect(run(["--mkvol", template, lost, dir]).err).toMatch(/mkvol: image: File exists/);

    const img = path.join(dir, "vol.img");
    const mnt = path.join(dir, "vol");
    fs.mkdirSync(mnt);
    const ok = run(["--mkvol", template, img, mnt]);
    expect(ok.code).toBe(0);
    expect(ok.out.trim()).toMatch(/^\/dev\/loop\d+$/);
    expect(loopsOf(img)).toContain(ok.out.trim());
    expect(fs.readdirSync(mnt)).toEqual(["lost+found"]);
    expect(spawnSync("umount", [mnt]).status).toBe(0);
    // Auto-clear: a plain unmount freed the device.
    expect(loopsSettled(img)).toBe("");
  });
});
