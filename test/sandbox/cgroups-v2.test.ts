// The cgroup v2 paths of the driver, run against a fake cgroup2 hierarchy made of plain files in a
// temp dir (this machine is hybrid: its cgroup2 mount has no memory/cpu/pids controllers).
// Only what cgroupfs does by itself is emulated: mkdir fills a new group with its interface files,
// rmdir removes them (and refuses a populated group or one with children), and, where a test needs
// it, a write of "1" to cgroup.kill empties the group (a FIFO the test reads). Everything else is
// the driver's own file I/O, asserted byte for byte. What only a real v2 kernel can prove is listed
// in docs/sandbox.md, "cgroup v2: what is tested here".
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CgroupDirOps, CgroupLayout, InstanceCgroup } from "../../src/sandbox/cgroups.js";
import {
  joinCgroupsCommand,
  checkCgroupsWritable,
  createCgroupDriver,
  probeCgroupLayout,
} from "../../src/sandbox/cgroups.js";

const MB = 1024 * 1024;
const LIMITS = { memoryMb: 128, pidsMax: 1024, cpuMillicores: 300 };
const POPULATED = "populated 1\nfrozen 0\n";
const UNPOPULATED = "populated 0\nfrozen 0\n";
// A read-only numeric kernel file that even root cannot open for writing (EACCES): stands in for
// memory.peak on kernels 5.19-6.11, which have it without the write (reset) handler.
const READ_ONLY_NUMBER = "/proc/sys/kernel/ngroups_max";

/** cgroup.kill exists from 5.14 on; probeCgroupLayout decides from the running kernel. */
function kernelHasCgroupKill(): boolean {
  const [maj = 0, min = 0] = os.release().split(".").map(Number);
  return maj > 5 || (maj === 5 && min >= 14);
}

interface FakeOptions {
  /** Controllers the root offers (its cgroup.controllers). */
  controllers?: string;
  /** Root's cgroup.subtree_control as the kernel would print it. */
  subtreeControl?: string;
  /** Extra lines for the mounts file (v1 mounts). */
  extraMounts?: string[];
  /** memory.peak of new groups: writable (≥ 6.12), read-only (5.19-6.11) or absent (< 5.19). */
  memoryPeak?: "rw" | "ro" | "absent";
}

interface FakeCgroup2 {
  root: string;
  mountsFile: string;
  dirOps: CgroupDirOps;
  /** Regular files of each group at the moment it was removed, by group name. */
  removed: Map<string, Record<string, string>>;
  /** mkdir/rmdir/kill in the order they happened. */
  log: string[];
  /** Create a group as the kernel would (for stale groups of a "previous run"). */
  mkGroup(name: string): string;
  file(name: string, file: string): string;
  read(name: string, file: string): string;
  write(name: string, file: string, text: string): void;
  /** Turn cgroup.kill into a FIFO: a "1" written to it is logged and empties the group. */
  emulateKill(name: string): void;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Remove the group after the test, whatever happened in it. */
function track(group: InstanceCgroup): InstanceCgroup {
  cleanups.push(() => group.remove());
  return group;
}

function errno(code: string, dir: string): Error {
  return Object.assign(new Error(`${code}: ${dir}`), { code });
}

function createFakeCgroup2(opts: FakeOptions = {}): FakeCgroup2 {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "cgroup2-fake-"));
  const root = path.join(base, "cgroup");
  fs.mkdirSync(root);
  cleanups.push(() => fs.rmSync(base, { recursive: true, force: true }));
  const controllers = opts.controllers ?? "cpuset cpu io memory hugetlb pids rdma misc";
  fs.writeFileSync(path.join(root, "cgroup.controllers"), `${controllers}\n`);
  fs.writeFileSync(path.join(root, "cgroup.subtree_control"), `${opts.subtreeControl ?? ""}\n`);
  fs.writeFileSync(path.join(root, "cgroup.procs"), "1\n");
  fs.writeFileSync(path.join(root, "cgroup.max.depth"), "max\n");
  fs.writeFileSync(path.join(root, "memory.stat"), "anon 0\n");
  const mountsFile = path.join(base, "mounts");
  fs.writeFileSync(
    mountsFile,
    [
      "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0",
      "tmpfs /run tmpfs rw,nosuid,nodev,size=812904k,mode=755 0 0",
      ...(opts.extraMounts ?? []),
      `cgroup2 ${root} cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0`,
      "",
    ].join("\n"),
  );

  const removed = new Map<string, Record<string, string>>();
  const log: string[] = [];
  const mkdir = (dir: string): void => {
    fs.mkdirSync(dir); // EEXIST like the kernel
    log.push(`mkdir ${path.basename(dir)}`);
    const files: Record<string, string> = {
      "cgroup.procs": "",
      "cgroup.threads": "",
      "cgroup.events": UNPOPULATED,
      "cgroup.controllers": "cpu memory pids\n",
      "cgroup.subtree_control": "\n",
      "cgroup.freeze": "0\n",
      "memory.max": "max\n",
      "memory.swap.max": "max\n",
      "memory.current": "0\n",
      "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
      "pids.max": "max\n",
      "cpu.max": "max 100000\n",
    };
    if (kernelHasCgroupKill()) files["cgroup.kill"] = "";
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
    const peak = path.join(dir, "memory.peak");
    if ((opts.memoryPeak ?? "rw") === "rw") fs.writeFileSync(peak, "0\n");
    else if (opts.memoryPeak === "ro") fs.symlinkSync(READ_ONLY_NUMBER, peak);
  };
  const rmdir = (dir: string): void => {
    if (!fs.existsSync(dir)) throw errno("ENOENT", dir);
    const entries = fs.readdirSync(dir, { withFileTypes: true });
    if (entries.some((e) => e.isDirectory())) throw errno("EBUSY", dir);
    const events = fs.readFileSync(path.join(dir, "cgroup.events"), "utf8");
    if (events.includes("populated 1")) throw errno("EBUSY", dir);
    const snapshot: Record<string, string> = {};
    for (const e of entries) {
      if (e.isFile()) snapshot[e.name] = fs.readFileSync(path.join(dir, e.name), "utf8");
    }
    removed.set(path.basename(dir), snapshot);
    log.push(`rmdir ${path.basename(dir)}`);
    fs.rmSync(dir, { recursive: true });
  };
  const file = (name: string, f: string): string => path.join(root, name, f);
  const fake: FakeCgroup2 = {
    root,
    mountsFile,
    dirOps: { mkdir, rmdir },
    removed,
    log,
    mkGroup(name) {
      mkdir(path.join(root, name));
      return path.join(root, name);
    },
    file,
    read: (name, f) => fs.readFileSync(file(name, f), "utf8"),
    // Truncate and rewrite the same inode, as the kernel's values change under an open fd.
    write: (name, f, text) => fs.writeFileSync(file(name, f), text),
    emulateKill(name) {
      const fifo = file(name, "cgroup.kill");
      fs.rmSync(fifo, { force: true });
      execFileSync("mkfifo", [fifo]);
      // O_RDWR: opening does not wait for a writer, and the driver's open for writing never blocks.
      const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
      const reader = new net.Socket({ fd, readable: true, writable: false });
      reader.on("data", (d: Buffer) => {
        if (!d.toString().includes("1")) return;
        log.push(`kill ${name}`);
        fake.write(name, "cgroup.procs", "");
        fake.write(name, "cgroup.events", UNPOPULATED);
      });
      cleanups.push(() => {
        // A write to a FIFO nobody reads would block the driver (and the test run) for good.
        if (fs.existsSync(path.join(root, name))) {
          fs.rmSync(fifo);
          fake.write(name, "cgroup.kill", "");
          fake.write(name, "cgroup.events", UNPOPULATED);
        }
        reader.destroy();
      });
    },
  };
  return fake;
}

/** Paths below `dir` this process still has open. */
function openFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      // The FIFOs are the test's own (emulateKill), not the driver's.
      if (target.startsWith(`${dir}/`) && !target.includes("cgroup.kill")) out.push(target);
    } catch {
      // closed meanwhile (the readdir fd itself)
    }
  }
  return out;
}

function v2Layout(fake: FakeCgroup2, kill: boolean): CgroupLayout {
  return { version: "v2", v2: { dir: fake.root, controllers: true, kill } };
}

describe("probeCgroupLayout on cgroup v2 mount tables", () => {
  it("finds a unified hierarchy whose root offers memory, pids and cpu", () => {
    const fake = createFakeCgroup2();
    expect(probeCgroupLayout(fake.mountsFile)).toEqual({
      version: "v2",
      v2: { dir: fake.root, controllers: true, kill: kernelHasCgroupKill() },
    });
  });

  it("decodes the mount table's octal escapes in mount points (a space is \\040)", () => {
    const fake = createFakeCgroup2();
    const spaced = path.join(path.dirname(fake.root), "cg root");
    fs.renameSync(fake.root, spaced);
    const escaped = spaced.replace(/ /g, "\\040");
    fs.writeFileSync(
      fake.mountsFile,
      `cgroup2 ${escaped} cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n`,
    );
    expect(probeCgroupLayout(fake.mountsFile)).toEqual({
      version: "v2",
      v2: { dir: spaced, controllers: true, kill: kernelHasCgroupKill() },
    });
  });

  it("drops v1 mounts when cgroup2 has the controllers (a controller lives in one hierarchy)", () => {
    const fake = createFakeCgroup2({
      extraMounts: [
        "cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0",
        "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0",
        "cgroup /sys/fs/cgroup/pids cgroup rw,nosuid,nodev,noexec,relatime,pids 0 0",
      ],
    });
    const layout = probeCgroupLayout(fake.mountsFile);
    expect(layout.version).toBe("v2");
    expect(layout.v1).toBeUndefined();
  });

  it("is hybrid with v1 controllers and a cgroup2 mount lacking one of them, none without v1", () => {
    const v1 = [
      "cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0",
      "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0",
      "cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0",
      "cgroup /sys/fs/cgroup/freezer cgroup rw,relatime,freezer 0 0",
    ];
    const hybrid = createFakeCgroup2({ controllers: "cpu memory", extraMounts: v1 });
    expect(probeCgroupLayout(hybrid.mountsFile)).toEqual({
      version: "hybrid",
      v1: {
        memory: "/sys/fs/cgroup/memory",
        cpu: "/sys/fs/cgroup/cpu",
        pids: "/sys/fs/cgroup/pids",
        freezer: "/sys/fs/cgroup/freezer",
      },
      v2: { dir: hybrid.root, controllers: false, kill: kernelHasCgroupKill() },
    });
    const bare = createFakeCgroup2({ controllers: "cpu memory" });
    expect(probeCgroupLayout(bare.mountsFile).version).toBe("none");
    expect(probeCgroupLayout(path.join(bare.root, "no-such-mounts"))).toEqual({ version: "none" });
  });
});

describe("checkCgroupsWritable on cgroup v2", () => {
  it("enables only the missing controllers in the root's subtree_control, then probes a group", () => {
    const fake = createFakeCgroup2({ subtreeControl: "memory" });
    const layout = probeCgroupLayout(fake.mountsFile);
    checkCgroupsWritable(layout, fake.dirOps);
    expect(fs.readFileSync(path.join(fake.root, "cgroup.subtree_control"), "utf8")).toBe(
      "+pids +cpu",
    );
    const [probe, files] = [...fake.removed][0] ?? [];
    expect(probe).toMatch(/^fngraph-probe-\d+-\d+$/);
    expect(files?.["memory.max"]).toBe(String(64 * MB));
    expect(files?.["pids.max"]).toBe("64");
    expect(fake.log).toEqual([`mkdir ${probe}`, `rmdir ${probe}`]);
    expect(fs.readdirSync(fake.root).filter((e) => e.startsWith("fngraph-"))).toEqual([]);
  });

  it("leaves subtree_control alone when the controllers are already enabled", () => {
    const fake = createFakeCgroup2({ subtreeControl: "cpu memory pids" });
    checkCgroupsWritable(probeCgroupLayout(fake.mountsFile), fake.dirOps);
    expect(fs.readFileSync(path.join(fake.root, "cgroup.subtree_control"), "utf8")).toBe(
      "cpu memory pids\n",
    );
  });
});

describe("cgroup v2 instance groups (fake hierarchy)", () => {
  it("enables the missing controllers when the driver is made (no detection before it)", () => {
    const fake = createFakeCgroup2({ subtreeControl: "pids" });
    createCgroupDriver(probeCgroupLayout(fake.mountsFile), fake.dirOps);
    expect(fs.readFileSync(path.join(fake.root, "cgroup.subtree_control"), "utf8")).toBe(
      "+memory +cpu",
    );
  });

  it("creates one group below the root with memory.max, memory.swap.max, pids.max and cpu.max", () => {
    const fake = createFakeCgroup2();
    const driver = createCgroupDriver(probeCgroupLayout(fake.mountsFile), fake.dirOps);
    const name = "fngraph-t-limits";
    const group = track(driver.create(name, LIMITS));
    expect(fake.log).toEqual([`mkdir ${name}`]);
    expect(fake.read(name, "memory.max")).toBe(String(128 * MB));
    expect(fake.read(name, "memory.swap.max")).toBe("0");
    expect(fake.read(name, "pids.max")).toBe("1024");
    // 300 millicores of a 100 ms period.
    expect(fake.read(name, "cpu.max")).toBe("30000 100000");
    expect(driver.list("t")).toEqual([name]);
    expect(driver.list("other")).toEqual([]);

    // One hierarchy, so one cgroup.procs to join; run it as the launcher's shell would.
    expect(joinCgroupsCommand(group.procsFiles)).toBe(
      `echo $$ > ${fake.file(name, "cgroup.procs")}`,
    );
    execFileSync("/bin/sh", ["-c", joinCgroupsCommand(group.procsFiles)]);
    expect(fake.read(name, "cgroup.procs")).toMatch(/^\d+\n$/);
  });

  it("leaves no group behind when its CPU limit cannot be set", () => {
    const fake = createFakeCgroup2();
    const dirOps = {
      mkdir: (dir: string) => {
        fake.dirOps.mkdir(dir);
        // A cpu.max that cannot be written (a directory: EISDIR).
        fs.rmSync(path.join(dir, "cpu.max"));
        fs.mkdirSync(path.join(dir, "cpu.max"));
      },
      rmdir: (dir: string) => fs.rmSync(dir, { recursive: true }),
    };
    const driver = createCgroupDriver(probeCgroupLayout(fake.mountsFile), dirOps);
    expect(() => driver.create("fngraph-t-nocpu", LIMITS)).toThrow();
    expect(fs.existsSync(path.join(fake.root, "fngraph-t-nocpu"))).toBe(false);
  });

  it("sets cpu.max as '<quota> <period>' with the kernel's 1 ms minimum quota", () => {
    const fake = createFakeCgroup2();
    const driver = createCgroupDriver(probeCgroupLayout(fake.mountsFile), fake.dirOps);
    const group = track(driver.create("fngraph-t-cpu", LIMITS));
    group.setCpuMillicores(2500);
    expect(fake.read("fngraph-t-cpu", "cpu.max")).toBe("250000 100000");
    group.setCpuMillicores(1);
    expect(fake.read("fngraph-t-cpu", "cpu.max")).toBe("1000 100000");
  });

  it("memory.peak (≥ 6.12): resets through its own fd on create and on reset, reads through it", () => {
    const fake = createFakeCgroup2({ memoryPeak: "rw" });
    const driver = createCgroupDriver(probeCgroupLayout(fake.mountsFile), fake.dirOps);
    const name = "fngraph-t-peak";
    const group = track(driver.create(name, LIMITS));
    expect(fake.read(name, "memory.peak")).toBe("reset");

    fake.write(name, "memory.peak", "4096000\n");
    expect(group.memoryPeakBytes()).toBe(4096000);
    group.resetMemoryPeak();
    expect(fake.read(name, "memory.peak")).toMatch(/^reset/);
    fake.write(name, "memory.peak", "8192\n");
    expect(group.memoryPeakBytes()).toBe(8192);

    // The reset is per open file: a value seen through another open of memory.peak is not ours.
    const other = `${fake.file(name, "memory.peak")}.new`;
    fs.writeFileSync(other, "999999999\n");
    fs.renameSync(other, fake.file(name, "memory.peak"));
    expect(group.memoryPeakBytes()).toBe(8192);
    expect(group.peakExact).toBe(true);
  });

  it.skipIf(!fs.existsSync(READ_ONLY_NUMBER))(
    "memory.peak read-only (5.19-6.11): the kernel's exact peak until the first reset, then samples of memory.current",
    () => {
      const fake = createFakeCgroup2({ memoryPeak: "ro" });
      const driver = createCgroupDriver(probeCgroupLayout(fake.mountsFile), fake.dirOps);
      const name = "fngraph-t-peakro";
      const group = track(driver.create(name, LIMITS));
      fake.write(name, "memory.current", "1000\n");
      expect(group.memoryPeakBytes()).toBe(Number(fs.readFileSync(READ_ONLY_NUMBER, "utf8")));
      group.resetMemoryPeak();
      expect(group.memoryPeakBytes()).toBe(1000);
      fake.write(name, "memory.current", "3000\n");
      expect(group.memoryPeakBytes()).toBe(3000);
      expect(group.peakExact).toBe(false); // samples: a short spike can fall between two
    },
  );

  it("no memory.peak (< 5.19): the peak is the highest memory.current seen since the last reset", () => {
    const fake = createFakeCgroup2({ memoryPeak: "absent" });
    const driver = createCgroupDriver(probeCgroupLayout(fake.mountsFile), fake.dirOps);
    const name = "fngraph-t-nopeak";
    const group = track(driver.create(name, LIMITS));
    fake.write(name, "memory.current", "5000\n");
    expect(group.memoryPeakBytes()).toBe(5000);
    fake.write(name, "memory.current", "2000\n");
    expect(group.memoryPeakBytes()).toBe(5000);
    group.resetMemoryPeak();
    expect(group.memoryPeakBytes()).toBe(2000);
    expect(fs.existsSync(fake.file(name, "memory.peak"))).toBe(false);
    expect(group.peakExact).toBe(false);
  });

  it("samples a peak without a resettable memory.peak only while busy: from a reset to idle", () => {
    vi.useFakeTimers();
    try {
      const fake = createFakeCgroup2({ memoryPeak: "absent" });
      const driver = createCgroupDriver(probeCgroupLayout(fake.mountsFile), fake.dirOps);
      const name = "fngraph-t-busy";
      const group = track(driver.create(name, LIMITS));
      group.resetMemoryPeak(); // a call starts
      fake.write(name, "memory.current", "5000\n");
      vi.advanceTimersByTime(25); // the sampler sees 5000
      fake.write(name, "memory.current", "2000\n");
      expect(group.memoryPeakBytes()).toBe(5000);
      group.memoryIdle(); // the last call ended
      fake.write(name, "memory.current", "9000\n");
      vi.advanceTimersByTime(200); // idle: no samples
      fake.write(name, "memory.current", "1000\n");
      expect(group.memoryPeakBytes()).toBe(5000);
      group.resetMemoryPeak(); // the next call
      fake.write(name, "memory.current", "7000\n");
      vi.advanceTimersByTime(25);
      fake.write(name, "memory.current", "100\n");
      expect(group.memoryPeakBytes()).toBe(7000);
    } finally {
      vi.useRealTimers();
    }
  });

  it("counts OOM kills from memory.events' oom_kill line (not oom or oom_group_kill)", () => {
    const fake = createFakeCgroup2();
    const driver = createCgroupDriver(probeCgroupLayout(fake.mountsFile), fake.dirOps);
    const name = "fngraph-t-oom";
    const group = track(driver.create(name, LIMITS));
    expect(group.oomKills()).toBe(0);
    fake.write(
      name,
      "memory.events",
      "low 0\nhigh 0\nmax 7\noom 3\noom_kill 2\noom_group_kill 5\n",
    );
    expect(group.oomKills()).toBe(2);
  });

  it("is empty exactly when cgroup.events says populated 0", async () => {
    const fake = createFakeCgroup2();
    const driver = createCgroupDriver(probeCgroupLayout(fake.mountsFile), fake.dirOps);
    const name = "fngraph-t-events";
    const group = track(driver.create(name, LIMITS));
    // cgroup.procs lists a pid, but v2 asks cgroup.events (it also counts descendants' tasks).
    fake.write(name, "cgroup.procs", "4242\n");
    expect(group.isEmpty()).toBe(true);
    fake.write(name, "cgroup.events", POPULATED);
    expect(group.isEmpty()).toBe(false);
    await expect(group.waitEmpty(10)).resolves.toBe(false);
    fake.write(name, "cgroup.events", UNPOPULATED);
    await expect(group.waitEmpty(10)).resolves.toBe(true);
    fake.write(name, "cgroup.procs", "");
  });

  it("killAll lifts cpu.max, then writes 1 to cgroup.kill", async () => {
    const fake = createFakeCgroup2();
    const name = "fngraph-t-kill";
    const driver = createCgroupDriver(v2Layout(fake, true), fake.dirOps);
    const group = track(driver.create(name, LIMITS));
    fake.write(name, "cgroup.events", POPULATED);
    // Both files lead into one FIFO, so what it holds is the order of the writes.
    const journal = fake.file(name, "journal");
    execFileSync("mkfifo", [journal]);
    const fd = fs.openSync(journal, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    const files = ["cpu.max", "cgroup.kill"];
    for (const f of files) {
      fs.rmSync(fake.file(name, f));
      fs.symlinkSync(journal, fake.file(name, f));
    }
    await group.killAll();
    const buf = Buffer.alloc(256);
    const written = buf.toString("utf8", 0, fs.readSync(fd, buf));
    // Plain files again before anything can fail: a write to a FIFO nobody reads would block.
    for (const f of files) fs.rmSync(fake.file(name, f));
    fs.closeSync(fd);
    fake.write(name, "cgroup.events", UNPOPULATED);
    expect(written).toBe("max 100000" + "1");
  });

  it("freeze writes 1 to cgroup.freeze, thaw writes 0 (idle mode); nothing after remove", async () => {
    const fake = createFakeCgroup2();
    const name = "fngraph-t-freeze";
    const driver = createCgroupDriver(v2Layout(fake, true), fake.dirOps);
    const group = track(driver.create(name, LIMITS));
    expect(group.freeze()).toBe(true);
    expect(fake.read(name, "cgroup.freeze")).toBe("1");
    group.thaw();
    expect(fake.read(name, "cgroup.freeze")).toBe("0");
    await group.remove();
    expect(group.freeze()).toBe(false);
  });

  it("killAll without cgroup.kill (< 5.14) SIGKILLs every pid in cgroup.procs", async () => {
    const fake = createFakeCgroup2();
    const name = "fngraph-t-nokill";
    const driver = createCgroupDriver(v2Layout(fake, false), fake.dirOps);
    const group = track(driver.create(name, LIMITS));
    const child = spawn("/bin/sleep", ["1000"], { stdio: "ignore" });
    cleanups.push(() => child.kill("SIGKILL"));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once("exit", (_code, signal) => {
        // What the kernel would show once the task is gone.
        fake.write(name, "cgroup.procs", "");
        fake.write(name, "cgroup.events", UNPOPULATED);
        resolve(signal);
      }),
    );
    fake.write(name, "cgroup.procs", `${child.pid}\n`);
    fake.write(name, "cgroup.events", POPULATED);
    fake.write(name, "cgroup.kill", "untouched");
    await group.killAll();
    await expect(exited).resolves.toBe("SIGKILL");
    expect(fake.read(name, "cpu.max")).toBe("max 100000");
    expect(fake.read(name, "cgroup.kill")).toBe("untouched");
    await group.remove();
    expect(fake.removed.has(name)).toBe(true);
  });

  it("remove kills a populated group before rmdir, closes its files and is idempotent", async () => {
    const fake = createFakeCgroup2();
    const name = "fngraph-t-remove";
    const driver = createCgroupDriver(v2Layout(fake, true), fake.dirOps);
    const group = track(driver.create(name, LIMITS));
    // Open the kept-open files (memory.peak is open from create on).
    group.oomKills();
    expect(openFilesUnder(fake.root).length).toBeGreaterThan(0);
    fake.emulateKill(name);
    fake.write(name, "cgroup.events", POPULATED);
    await group.remove();
    await group.remove();
    expect(fake.log).toEqual([`mkdir ${name}`, `kill ${name}`, `rmdir ${name}`]);
    expect(fs.existsSync(path.join(fake.root, name))).toBe(false);
    expect(openFilesUnder(fake.root)).toEqual([]);
  });

  it("sweeps stale fngraph-<prefix>-* groups under the v2 root, killing populated ones first", async () => {
    const fake = createFakeCgroup2();
    const driver = createCgroupDriver(v2Layout(fake, true), fake.dirOps);
    for (const name of ["fngraph-old-a", "fngraph-old-b", "fngraph-keep-c"]) fake.mkGroup(name);
    fs.mkdirSync(path.join(fake.root, "system.slice"));
    fake.write("fngraph-old-b", "cpu.max", "30000 100000");
    fake.write("fngraph-old-b", "cgroup.procs", "4242\n");
    fake.write("fngraph-old-b", "cgroup.events", POPULATED);
    fake.emulateKill("fngraph-old-b");
    fake.log.length = 0;

    expect(driver.list("old")).toEqual(["fngraph-old-a", "fngraph-old-b"]);
    await expect(driver.sweepStale("old")).resolves.toEqual(["fngraph-old-a", "fngraph-old-b"]);
    expect(fake.log).toEqual(["rmdir fngraph-old-a", "kill fngraph-old-b", "rmdir fngraph-old-b"]);
    expect(fake.removed.get("fngraph-old-b")?.["cpu.max"]).toBe("max 100000");
    expect(fs.readdirSync(fake.root).filter((e) => e.startsWith("fngraph-"))).toEqual([
      "fngraph-keep-c",
    ]);
    expect(fs.existsSync(path.join(fake.root, "system.slice"))).toBe(true);
    expect(openFilesUnder(fake.root)).toEqual([]);
  });
});
