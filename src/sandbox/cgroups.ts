import fs from "node:fs";
import path from "node:path";
import {
  createOpenFiles,
  createV2Peak,
  kernelAtLeast,
  readdirOr,
  readOr,
  signalKill,
  tryWrite,
  unescapeMountField,
} from "./cgroup-files.js";
import type {
  CgroupDirOps,
  CgroupDriver,
  CgroupLayout,
  CgroupLimits,
  InstanceCgroup,
} from "./cgroup-types.js";
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
export type {
  CgroupDirOps,
  CgroupDriver,
  CgroupLayout,
  CgroupLimits,
  CgroupVersion,
  InstanceCgroup,
} from "./cgroup-types.js";

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
  enableV2Controllers(layout);
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

/**
 * v2: enable memory, pids and cpu in the root's `cgroup.subtree_control` where they are not yet
 * (a fresh v2 boot without systemd enables none; groups then lack `memory.max`). Throws when the
 * kernel refuses, e.g. a container's non-root top that holds processes (EBUSY).
 */
function enableV2Controllers(layout: CgroupLayout): void {
  if (layout.version !== "v2" || !layout.v2) return;
  const sub = path.join(layout.v2.dir, "cgroup.subtree_control");
  const enabled = readOr(sub, "").split(/\s+/);
  const missing = ["memory", "pids", "cpu"].filter((c) => !enabled.includes(c));
  if (missing.length > 0) fs.writeFileSync(sub, missing.map((c) => `+${c}`).join(" "));
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
  // Also here, not only in checkCgroupsWritable (detection): createBwrapSandbox is called without
  // it (tests, tools), and a real v2 boot then failed every create with EACCES on memory.max.
  try {
    enableV2Controllers(layout);
  } catch {
    // create() reports it: the group's memory.max is missing.
  }
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
  // Read and reset around every call on v1: the path is built once.
  const maxUsageFile = path.join(memDir, "memory.max_usage_in_bytes");
  const cpuDir = v2 ?? path.join(layout.v1?.cpu ?? "", name);
  const unified = layout.v2 ? path.join(layout.v2.dir, name) : undefined;
  const freezer =
    layout.v1?.freezer && !layout.v2?.kill ? path.join(layout.v1.freezer, name) : undefined;
  const procsFiles = dirs.map((d) => path.join(d, "cgroup.procs"));
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
    procsFiles,
    // v1's memory.max_usage_in_bytes is kept by the kernel, exact like a resettable memory.peak.
    peakExact: peak ? peak.exact : true,
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
      const n = Number(files.read(maxUsageFile) ?? "NaN");
      return Number.isFinite(n) ? n : undefined;
    },
    memoryIdle() {
      peak?.idle?.();
    },
    resetMemoryPeak() {
      if (peak) peak.reset();
      else files.write(maxUsageFile, "0");
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

function tryRmdir(dir: string, dirOps: CgroupDirOps): void {
  try {
    dirOps.rmdir(dir);
  } catch {
    // Best effort while unwinding a failed create.
  }
}

/** POSIX sh commands that move the running shell (`$$`) into the groups of these `cgroup.procs`. */
export function joinCgroupsCommand(procsFiles: readonly string[]): string {
  return procsFiles.map((f) => `echo $$ > ${f}`).join(" && ");
}
