import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { delay } from "./exec.js";

/**
 * cgroup driver for per-instance memory, CPU and pids limits (docs/sandbox.md).
 *
 * - `v1`: limits from v1 controllers; kill via the freezer.
 * - `hybrid` (this machine): limits from v1 controllers, plus a group in the cgroup2 mount that has
 *   no controllers but offers `cgroup.kill` and `cgroup.events` for killing and "tree gone".
 * - `v2`: a unified hierarchy whose root offers memory, pids and cpu.
 *
 * Groups are named `fngraph-<prefix>-<id>` directly below each hierarchy's root, so a platform
 * that was killed can find and sweep its own leftovers by prefix.
 */
export type CgroupVersion = "v1" | "v2" | "hybrid" | "none";

/** Where each piece lives; found by `probeCgroupLayout()`. */
export interface CgroupLayout {
  version: CgroupVersion;
  /** v1 controller mount points (only set when all three are mounted). */
  v1?: { memory: string; cpu: string; pids: string; freezer?: string };
  /** cgroup2 mount point; `controllers` when memory/pids/cpu can be enabled there. */
  v2?: { dir: string; controllers: boolean; kill: boolean };
}

export interface CgroupLimits {
  memoryMb: number;
  pidsMax: number;
  /** CPU quota while the runtime starts (≥ 1 CPU is recommended, see notes §5). */
  cpuMillicores: number;
}

/** The cgroups of one instance. Every method is synchronous file I/O of a few µs except kill/remove. */
export interface InstanceCgroup {
  readonly name: string;
  /** POSIX sh commands that move the running shell (`$$`) into every group. */
  readonly joinCommand: string;
  setCpuMillicores(millicores: number): void;
  /** Peak memory since creation or the last reset, bytes; undefined when unreadable. */
  memoryPeakBytes(): number | undefined;
  resetMemoryPeak(): void;
  /** OOM kills inside this group since it was created. */
  oomKills(): number;
  isEmpty(): boolean;
  /**
   * Suspend every task (v2/hybrid `cgroup.freeze` 1, else the v1 freezer's FROZEN). Returns false
   * when the group has no freezer. The kernel finishes freezing asynchronously.
   */
  freeze(): boolean;
  /** Resume the tasks (`cgroup.freeze` 0 / THAWED). */
  thaw(): void;
  /** Kill every process in the group (setsid'd ones included); frozen tasks too. */
  killAll(): Promise<void>;
  /** Wait until no process is left; false on timeout. */
  waitEmpty(timeoutMs: number): Promise<boolean>;
  /** Kill what is left, wait until empty and remove the directories. Idempotent. */
  remove(): Promise<void>;
}

export interface CgroupDriver {
  readonly layout: CgroupLayout;
  create(name: string, limits: CgroupLimits): InstanceCgroup;
  /** Names of existing groups starting with `fngraph-<prefix>-`. */
  list(prefix: string): string[];
  /** Kill the processes of, and remove, every `fngraph-<prefix>-*` group. Returns their names. */
  sweepStale(prefix: string): Promise<string[]>;
}

/**
 * How group directories are made and removed. On cgroupfs a new directory comes with its interface
 * files and rmdir removes a directory that still lists them; a test passes functions that emulate
 * this over plain files (test/sandbox/cgroups-v2.test.ts).
 */
export interface CgroupDirOps {
  mkdir(dir: string): void;
  rmdir(dir: string): void;
}

const cgroupfs: CgroupDirOps = {
  mkdir: (dir) => fs.mkdirSync(dir),
  rmdir: (dir) => fs.rmdirSync(dir),
};

const MB = 1024 * 1024;
const CPU_PERIOD_US = 100_000;

/** FunctionGraph derives CPU from memory: 128 MB → 0.3 CPU (ARCHITECTURE §5). */
export function cpuMillicoresFor(memoryMb: number): number {
  return Math.round((memoryMb / 128) * 100 + 200);
}

/** The group name for an instance. */
export function cgroupName(prefix: string, id: string): string {
  return `fngraph-${prefix}-${id}`;
}

/** The mount table writes space, tab, newline and backslash in a path as octal escapes. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Read the mount table and describe the cgroup layout; does not check writability. */
export function probeCgroupLayout(mountsFile = "/proc/self/mounts"): CgroupLayout {
  let text = "";
  try {
    text = fs.readFileSync(mountsFile, "utf8");
  } catch {
    return { version: "none" };
  }
  const v1: Record<string, string> = {};
  let v2dir: string | undefined;
  for (const line of text.split("\n")) {
    const [, rawMountPoint, type, options] = line.split(" ");
    if (rawMountPoint === undefined || options === undefined) continue;
    const mountPoint = unescapeMountField(rawMountPoint);
    if (type === "cgroup") {
      for (const opt of options.split(",")) {
        if (["memory", "cpu", "pids", "freezer"].includes(opt)) v1[opt] ??= mountPoint;
      }
    } else if (type === "cgroup2") {
      v2dir ??= mountPoint;
    }
  }
  const layout: CgroupLayout = { version: "none" };
  if (v1.memory && v1.cpu && v1.pids) {
    layout.v1 = { memory: v1.memory, cpu: v1.cpu, pids: v1.pids };
    if (v1.freezer) layout.v1.freezer = v1.freezer;
  }
  if (v2dir) {
    const controllers = readOr(path.join(v2dir, "cgroup.controllers"), "").split(/\s+/);
    const full = ["memory", "pids", "cpu"].every((c) => controllers.includes(c));
    // cgroup.kill exists in every non-root group on kernels >= 5.14; the root has none.
    const kill = kernelAtLeast(5, 14);
    layout.v2 = { dir: v2dir, controllers: full, kill };
  }
  if (layout.v2?.controllers) {
    // A controller is bound to one hierarchy only, so v1 mounts here would lack memory/pids/cpu.
    delete layout.v1;
    layout.version = "v2";
  } else if (layout.v1) {
    layout.version = layout.v2 ? "hybrid" : "v1";
  }
  return layout;
}

/**
 * Make sure the driver can create groups: enables v2 controllers in the root's subtree_control if
 * needed, then creates and removes a probe group. Throws with the reason when it cannot.
 */
export function checkCgroupsWritable(layout: CgroupLayout, dirOps = cgroupfs): void {
  if (layout.version === "none") throw new Error("no cgroup v1 memory/cpu/pids or v2 controllers");
  if (layout.version === "v2" && layout.v2) {
    const sub = path.join(layout.v2.dir, "cgroup.subtree_control");
    const enabled = readOr(sub, "").split(/\s+/);
    const missing = ["memory", "pids", "cpu"].filter((c) => !enabled.includes(c));
    if (missing.length > 0) fs.writeFileSync(sub, missing.map((c) => `+${c}`).join(" "));
  }
  const probe = `fngraph-probe-${process.pid}-${Date.now()}`;
  const dirs = groupDirs(layout, probe);
  const made: string[] = [];
  try {
    for (const d of dirs) {
      dirOps.mkdir(d);
      made.push(d);
    }
    if (layout.version === "v2") {
      fs.writeFileSync(path.join(dirs[0] ?? "", "memory.max"), String(64 * MB));
      fs.writeFileSync(path.join(dirs[0] ?? "", "pids.max"), "64");
    } else if (layout.v1) {
      fs.writeFileSync(
        path.join(layout.v1.memory, probe, "memory.limit_in_bytes"),
        String(64 * MB),
      );
      fs.writeFileSync(path.join(layout.v1.pids, probe, "pids.max"), "64");
    }
  } finally {
    for (const d of made.reverse()) dirOps.rmdir(d);
  }
}

/** Directories of one group in every hierarchy we use; the first one holds the memory files. */
function groupDirs(layout: CgroupLayout, name: string): string[] {
  if (layout.version === "v2" && layout.v2) return [path.join(layout.v2.dir, name)];
  const dirs: string[] = [];
  if (layout.v1) {
    dirs.push(path.join(layout.v1.memory, name), path.join(layout.v1.cpu, name));
    dirs.push(path.join(layout.v1.pids, name));
    if (layout.v1.freezer && !layout.v2?.kill) dirs.push(path.join(layout.v1.freezer, name));
  }
  if (layout.v2) dirs.push(path.join(layout.v2.dir, name));
  return dirs;
}

/** The driver for `layout`; `dirOps` is replaced only by tests that emulate cgroupfs. */
export function createCgroupDriver(layout: CgroupLayout, dirOps = cgroupfs): CgroupDriver {
  const roots = (): string[] => {
    const r: string[] = [];
    if (layout.v1) r.push(layout.v1.memory, layout.v1.cpu, layout.v1.pids);
    if (layout.v1?.freezer) r.push(layout.v1.freezer);
    if (layout.v2) r.push(layout.v2.dir);
    return r;
  };
  const list = (prefix: string): string[] => {
    const names = new Set<string>();
    for (const root of roots()) {
      for (const e of readdirOr(root)) if (e.startsWith(`fngraph-${prefix}-`)) names.add(e);
    }
    return [...names].sort();
  };
  return {
    layout,
    create: (name, limits) => createInstanceCgroup(layout, name, limits, dirOps),
    list,
    async sweepStale(prefix) {
      const names = list(prefix);
      for (const name of names) {
        await attach(layout, name, dirOps).remove();
        // Groups that exist only in some hierarchies (a crash mid-create) are removed too.
        for (const root of roots()) await removeDir(path.join(root, name), 2000, dirOps);
      }
      return names;
    },
  };
}

function createInstanceCgroup(
  layout: CgroupLayout,
  name: string,
  limits: CgroupLimits,
  dirOps: CgroupDirOps,
): InstanceCgroup {
  const dirs = groupDirs(layout, name);
  const made: string[] = [];
  try {
    for (const d of dirs) {
      dirOps.mkdir(d);
      made.push(d);
    }
    const bytes = String(Math.round(limits.memoryMb) * MB);
    if (layout.version === "v2") {
      const d = dirs[0] ?? "";
      fs.writeFileSync(path.join(d, "memory.max"), bytes);
      tryWrite(path.join(d, "memory.swap.max"), "0");
      fs.writeFileSync(path.join(d, "pids.max"), String(limits.pidsMax));
    } else if (layout.v1) {
      const mem = path.join(layout.v1.memory, name);
      fs.writeFileSync(path.join(mem, "memory.limit_in_bytes"), bytes);
      // memsw = limit means "no swap"; the file exists only with swap accounting.
      tryWrite(path.join(mem, "memory.memsw.limit_in_bytes"), bytes);
      fs.writeFileSync(path.join(layout.v1.pids, name, "pids.max"), String(limits.pidsMax));
    }
  } catch (err) {
    for (const d of made.reverse()) tryRmdir(d, dirOps);
    throw err;
  }
  const group = attach(layout, name, dirOps);
  try {
    group.setCpuMillicores(limits.cpuMillicores);
  } catch (err) {
    // Not left behind when its last limit cannot be set.
    for (const d of made.reverse()) tryRmdir(d, dirOps);
    throw err;
  }
  return group;
}

/** Handle on a group that may already exist (used for new groups and for sweeping). */
function attach(layout: CgroupLayout, name: string, dirOps: CgroupDirOps): InstanceCgroup {
  const dirs = groupDirs(layout, name);
  const v2 = layout.version === "v2" ? path.join(layout.v2?.dir ?? "", name) : undefined;
  const memDir = v2 ?? path.join(layout.v1?.memory ?? "", name);
  const cpuDir = v2 ?? path.join(layout.v1?.cpu ?? "", name);
  const unified = layout.v2 ? path.join(layout.v2.dir, name) : undefined;
  const freezer =
    layout.v1?.freezer && !layout.v2?.kill ? path.join(layout.v1.freezer, name) : undefined;
  const joinCommand = dirs.map((d) => `echo $$ > ${d}/cgroup.procs`).join(" && ");
  const peak = v2 ? createV2Peak(memDir) : undefined;
  const files = createOpenFiles();
  let removed = false;

  const procs = (): number[] => {
    const seen = new Set<number>();
    for (const d of dirs) {
      for (const l of readOr(path.join(d, "cgroup.procs"), "").split("\n")) {
        const pid = Number(l);
        if (l !== "" && Number.isInteger(pid)) seen.add(pid);
      }
    }
    return [...seen];
  };
  const isEmpty = (): boolean => {
    if (unified && fs.existsSync(unified)) {
      return !readOr(path.join(unified, "cgroup.events"), "").includes("populated 1");
    }
    return procs().length === 0;
  };
  const waitEmpty = async (timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    // Short polls: a killed tree usually empties within a few ms, and the caller's reply waits.
    for (let wait = 1; ; wait = Math.min(wait * 2, 4)) {
      if (isEmpty()) return true;
      if (Date.now() > deadline) return false;
      await delay(wait);
    }
  };
  // Idle mode: the unified group's cgroup.freeze (v2, and hybrid: a core file that needs no
  // controller, kernel >= 5.2), else the v1 freezer group (v1, or hybrid before 5.14).
  const setFrozen = (on: boolean): boolean => {
    if (removed) return false;
    if (unified && tryWrite(path.join(unified, "cgroup.freeze"), on ? "1" : "0")) return true;
    return !!freezer && tryWrite(path.join(freezer, "freezer.state"), on ? "FROZEN" : "THAWED");
  };
  const killAll = async (): Promise<void> => {
    // Dying tasks still need CPU to exit: a group that used up its CFS quota would keep its
    // SIGKILLed tasks (a fork bomb's thousand) waiting for the next period, up to 100 ms.
    if (v2) tryWrite(path.join(cpuDir, "cpu.max"), `max ${CPU_PERIOD_US}`);
    else tryWrite(path.join(cpuDir, "cpu.cfs_quota_us"), "-1");
    if (unified && layout.v2?.kill && tryWrite(path.join(unified, "cgroup.kill"), "1")) return;
    if (freezer && fs.existsSync(freezer)) {
      // Frozen tasks cannot fork while we kill them one by one.
      tryWrite(path.join(freezer, "freezer.state"), "FROZEN");
      const deadline = Date.now() + 200;
      while (!readOr(path.join(freezer, "freezer.state"), "FROZEN").startsWith("FROZEN")) {
        if (Date.now() > deadline) break;
        await delay(2);
      }
      for (const pid of procs()) signalKill(pid);
      tryWrite(path.join(freezer, "freezer.state"), "THAWED");
      return;
    }
    for (let i = 0; i < 50 && procs().length > 0; i++) {
      for (const pid of procs()) signalKill(pid);
      await delay(2);
    }
  };
  return {
    name,
    joinCommand,
    setCpuMillicores(millicores) {
      const quota = Math.max(1000, Math.round((millicores / 1000) * CPU_PERIOD_US));
      if (v2) fs.writeFileSync(path.join(cpuDir, "cpu.max"), `${quota} ${CPU_PERIOD_US}`);
      else {
        tryWrite(path.join(cpuDir, "cpu.cfs_period_us"), String(CPU_PERIOD_US));
        fs.writeFileSync(path.join(cpuDir, "cpu.cfs_quota_us"), String(quota));
      }
    },
    memoryPeakBytes() {
      if (peak) return peak.read();
      const n = Number(files.read(path.join(memDir, "memory.max_usage_in_bytes")) ?? "NaN");
      return Number.isFinite(n) ? n : undefined;
    },
    resetMemoryPeak() {
      if (peak) peak.reset();
      else files.write(path.join(memDir, "memory.max_usage_in_bytes"), "0");
    },
    oomKills() {
      const file = v2 ? "memory.events" : "memory.oom_control";
      const m = /^oom_kill (\d+)$/m.exec(files.read(path.join(memDir, file)) ?? "");
      return m ? Number(m[1]) : 0;
    },
    isEmpty,
    freeze: () => setFrozen(true),
    thaw() {
      setFrozen(false);
    },
    killAll,
    waitEmpty,
    async remove() {
      if (removed) return;
      removed = true;
      peak?.close();
      files.close();
      for (let attempt = 0; attempt < 5 && !isEmpty(); attempt++) {
        await killAll();
        if (await waitEmpty(1000)) break;
      }
      for (const d of [...dirs].reverse()) await removeDir(d, 2000, dirOps);
    },
  };
}

/**
 * Control files read or written on every invocation, kept open: a pread/pwrite on an open fd costs
 * ~5 µs where open + read + close costs ~20-25 µs (measured here, v1), and the warm path does
 * three of them per call. Falls back to a plain read/write when the fd cannot be used.
 */
function createOpenFiles(): {
  read(file: string): string | undefined;
  write(file: string, value: string): void;
  close(): void;
} {
  const fds = new Map<string, number>();
  const buf = Buffer.alloc(1024);
  const fdOf = (file: string, flags: "r" | "w"): number | undefined => {
    const key = `${flags}:${file}`;
    let fd = fds.get(key);
    if (fd === undefined) {
      try {
        fd = fs.openSync(file, flags);
      } catch {
        return undefined;
      }
      fds.set(key, fd);
    }
    return fd;
  };
  return {
    read(file) {
      const fd = fdOf(file, "r");
      if (fd !== undefined) {
        try {
          return buf.toString("utf8", 0, fs.readSync(fd, buf, 0, buf.length, 0));
        } catch {
          // fall through to a plain read
        }
      }
      const text = readOr(file, "");
      return text === "" ? undefined : text;
    },
    write(file, value) {
      const fd = fdOf(file, "w");
      if (fd !== undefined) {
        try {
          fs.writeSync(fd, value, 0);
          return;
        } catch {
          // fall through
        }
      }
      tryWrite(file, value);
    },
    close() {
      for (const fd of fds.values()) {
        try {
          fs.closeSync(fd);
        } catch {
          // already closed
        }
      }
      fds.clear();
    },
  };
}

/**
 * v2 peak: `memory.peak` is reset per open file (kernel ≥ 6.12) by writing to it; reads through
 * the same fd then report the peak since the reset. Older kernels cannot reset, so we fall back to
 * the maximum of `memory.current` sampled every 20 ms since the last reset.
 */
function createV2Peak(dir: string): { read(): number | undefined; reset(): void; close(): void } {
  const file = path.join(dir, "memory.peak");
  let fd: number | undefined;
  let resettable = false;
  try {
    fd = fs.openSync(file, "r+");
    fs.writeSync(fd, "reset", 0);
    resettable = true;
  } catch {
    // 5.19-6.11: memory.peak is read-only, but its lifetime peak is exact until our first reset.
    try {
      fd ??= fs.openSync(file, "r");
    } catch {
      // < 5.19: no memory.peak at all; memory.current samples only.
    }
  }
  const readFd = (): number | undefined => {
    if (fd === undefined) return undefined;
    const buf = Buffer.alloc(64);
    const n = fs.readSync(fd, buf, 0, 64, 0);
    const v = Number(buf.subarray(0, n).toString("utf8").trim());
    return Number.isFinite(v) ? v : undefined;
  };
  if (resettable) {
    return {
      read: () => readFd(),
      reset: () => {
        if (fd !== undefined) fs.writeSync(fd, "reset", 0);
      },
      close: () => {
        if (fd !== undefined) fs.closeSync(fd);
        fd = undefined;
      },
    };
  }
  let sampled = 0;
  let timer: NodeJS.Timeout | undefined;
  const sample = (): void => {
    const cur = Number(readOr(path.join(dir, "memory.current"), "0"));
    if (Number.isFinite(cur) && cur > sampled) sampled = cur;
  };
  const loop = (): void => {
    sample();
    timer = setTimeout(loop, 20);
    timer.unref();
  };
  loop();
  let everReset = false;
  return {
    read: () => {
      sample();
      // Before the first reset the kernel's own lifetime peak is exact.
      return everReset ? sampled : (readFd() ?? sampled);
    },
    reset: () => {
      everReset = true;
      sampled = 0;
      sample();
    },
    close: () => {
      if (timer) clearTimeout(timer);
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    },
  };
}

async function removeDir(dir: string, timeoutMs: number, dirOps: CgroupDirOps): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      dirOps.rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      if (code !== "EBUSY" || Date.now() > deadline) throw err;
    }
    await delay(wait);
  }
}

function signalKill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

function tryWrite(file: string, value: string): boolean {
  try {
    fs.writeFileSync(file, value);
    return true;
  } catch {
    return false;
  }
}

function tryRmdir(dir: string, dirOps: CgroupDirOps): void {
  try {
    dirOps.rmdir(dir);
  } catch {
    // Best effort while unwinding a failed create.
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return fallback;
  }
}

function readdirOr(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function kernelAtLeast(major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(os.release());
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > major || (maj === major && min >= minor);
}
