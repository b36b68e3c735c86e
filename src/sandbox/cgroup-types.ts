/** Types of the cgroup driver (cgroups.ts). */

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
  /**
   * The `cgroup.procs` file of every group: the launcher writes its own pid to each, the shell
   * chain runs `joinCgroupsCommand` of them.
   */
  readonly procsFiles: readonly string[];
  setCpuMillicores(millicores: number): void;
  /** False when memoryPeakBytes() is sampled (v2 before 6.12) and can miss a short spike. */
  readonly peakExact: boolean;
  /** Peak memory since creation or the last reset, bytes; undefined when unreadable. */
  memoryPeakBytes(): number | undefined;
  resetMemoryPeak(): void;
  /** No call is running: a sampled peak (v2 before 6.12) stops sampling until the next reset. */
  memoryIdle(): void;
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
