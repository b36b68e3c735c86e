import fs from "node:fs";
import { unescapeMountField } from "./cgroup-files.js";
import { run } from "./exec.js";
import type { ExecResult } from "./exec.js";

/**
 * cgroup2's `favordynmods` (Linux ≥ 6.0), turned on at start-up (docs/sandbox.md, "cgroup moves").
 *
 * Every instance start moves its first process into the instance's groups. A move takes the
 * kernel's global `cgroup_threadgroup_rwsem` for writing; by default that semaphore favours its
 * readers (fork, exit), and each writer waits for an RCU grace period: 6–35 ms per move on our
 * VMs, paid inside every cold start. With `favordynmods` on the cgroup2 mount the semaphore
 * favours writers instead (a move takes well under a millisecond) at a small cost to every fork
 * and exit; from Linux 6.18 it makes a move take a per-process semaphore instead. Either way it
 * also speeds up v1 moves on a hybrid machine. On 6.18 the faster path stays until reboot even if
 * the option is later removed from the mount.
 */
export type DynmodsState =
  /** Already on (set by an earlier run, the init system or the kernel's build default). */
  | "on"
  /** This call turned it on. */
  | "enabled"
  /** Left off: the kernel or the machine cannot do it (reason in `detail`). */
  | "unavailable"
  /** Left off by configuration. */
  | "off";

export interface DynmodsResult {
  state: DynmodsState;
  /** The cgroup2 mount point, when there is one. */
  mountPoint?: string;
  detail?: string;
}

/** One cgroup2 entry of /proc/self/mountinfo. */
export interface Cgroup2Mount {
  mountPoint: string;
  /** Per-mount options (rw, nosuid, relatime, …). */
  mountOptions: string[];
  /** Superblock options (nsdelegate, memory_recursiveprot, favordynmods, …). */
  superOptions: string[];
}

/** The cgroup2 mount at `mountPoint` (or the first one), from mountinfo text. */
export function findCgroup2Mount(mountinfo: string, mountPoint?: string): Cgroup2Mount | undefined {
  for (const line of mountinfo.split("\n")) {
    // id parent major:minor root mount-point mount-options [optional…] - type source super-options
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const head = line.slice(0, sep).split(" ");
    const [type, , superOpts] = line.slice(sep + 3).split(" ");
    if (type !== "cgroup2" || head.length < 6 || superOpts === undefined) continue;
    const point = unescapeMountField(head[4] ?? "");
    if (mountPoint !== undefined && point !== mountPoint) continue;
    return {
      mountPoint: point,
      mountOptions: (head[5] ?? "").split(",").filter(Boolean),
      superOptions: superOpts.split(",").filter(Boolean),
    };
  }
  return undefined;
}

/**
 * `mount` arguments that add favordynmods and keep every other option. A cgroup2 remount sets
 * each superblock flag from the options it is given, so leaving out `nsdelegate` or
 * `memory_recursiveprot` would turn them off.
 */
export function remountArgs(m: Cgroup2Mount): string[] {
  const opts = ["remount"];
  for (const o of [...m.mountOptions, ...m.superOptions, "favordynmods"]) {
    if (!opts.includes(o)) opts.push(o);
  }
  return ["-o", opts.join(","), m.mountPoint];
}

export interface FavorDynmodsOptions {
  /** cgroup2 mount point from the layout probe; the first cgroup2 mount when omitted. */
  mountPoint?: string;
  enabled?: boolean;
  /** Seams for tests. */
  isRoot?: boolean;
  readMountinfo?: () => string;
  exec?: (file: string, args: string[]) => Promise<ExecResult>;
}

/** Turn favordynmods on for the cgroup2 mount if it is off. Never throws. */
export async function favorDynmods(opts: FavorDynmodsOptions = {}): Promise<DynmodsResult> {
  const read = opts.readMountinfo ?? (() => fs.readFileSync("/proc/self/mountinfo", "utf8"));
  const exec = opts.exec ?? run;
  let mount: Cgroup2Mount | undefined;
  try {
    mount = findCgroup2Mount(read(), opts.mountPoint);
  } catch (err) {
    return { state: "unavailable", detail: `mountinfo unreadable: ${String(err)}` };
  }
  if (!mount) return { state: "unavailable", detail: "no cgroup2 mount" };
  const at = { mountPoint: mount.mountPoint };
  if (mount.superOptions.includes("favordynmods")) return { state: "on", ...at };
  if (opts.enabled === false) return { state: "off", ...at };
  if (!(opts.isRoot ?? process.getuid?.() === 0))
    return { state: "unavailable", ...at, detail: "needs root" };
  const res = await exec("mount", remountArgs(mount));
  const after = findCgroup2Mount(read(), mount.mountPoint);
  if (res.code === 0 && after?.superOptions.includes("favordynmods")) {
    return { state: "enabled", ...at };
  }
  // Kernels before 6.0 do not know the option (EINVAL).
  return { state: "unavailable", ...at, detail: res.stderr.trim() || `mount exited ${res.code}` };
}
