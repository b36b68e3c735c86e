import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Sandbox, SandboxMount, SandboxUser } from "../sandbox/types.js";
import type { InvokeContext, InvokeOutcome, LoadSpec, RuntimeDef } from "./types.js";

export interface InstanceOptions {
  id: string;
  sandbox: Sandbox;
  runtime: RuntimeDef;
  /** Host directory with the unpacked code. */
  codeDir: string;
  memoryMb: number;
  cpuMillicores: number;
  tmpMb: number;
  network: "full" | "loopback";
  mounts: SandboxMount[];
  /** Host ids to run as (`mount_config.mount_user`); default the sandbox's (1003). */
  user?: SandboxUser;
  load: LoadSpec;
  logger: Logger;
  /** Cap of captured output per invocation (and for start-up); default 1 MiB. */
  maxLogBytes?: number;
  /** Budget for boot (until `ready`) and for loading without an initializer; default 30 s. */
  startTimeoutMs?: number;
  /** Timer source for timeouts; default the system clock. */
  clock?: Clock;
}

/** What `launchRuntime` needs: everything but the function to load. */
export type LaunchOptions = Omit<InstanceOptions, "load"> & {
  /**
   * Internal: the function to load right away. Its `load` is sent as soon as the process runs,
   * so the shim finds it when it is ready, and the boot output belongs to the start log.
   */
  loadNow?: LoadSpec;
};

/** A runtime launched and `ready`, with no function loaded yet (a prewarmed runtime). */
export interface LaunchedRuntime {
  readonly id: string;
  readonly timings: Pick<StartTimings, "sandboxMs" | "bootMs">;
  readonly dead: boolean;
  /** Send `load`, wait for `loaded`: the Instance. Once only; throws InstanceStartError. */
  load(spec: LoadSpec): Promise<Instance>;
  /** Ask the shim to compile its load and invoke paths now (prewarmed runtimes). */
  warm(): void;
  /** The shim has answered `warm` (`warmed`). */
  readonly warmed: boolean;
  /** Called once when the process is gone (immediately if it already is). */
  onExit(cb: () => void): void;
  /** Kill the process tree (used for runtimes that were never loaded). */
  kill(): Promise<void>;
}

/** Start-up phases in ms: sandbox launch, until `ready`, module load, initializer. */
export interface StartTimings {
  sandboxMs: number;
  bootMs: number;
  /** `load` sent → `loaded`, without the initializer's own time. */
  loadMs: number;
  /** The initializer, as the shim measured it (0 without one, or from a shim that does not say). */
  initializerMs: number;
}

export interface InvokeOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/** One started runtime process serving invocations (ARCHITECTURE §4). */
export interface Instance {
  readonly id: string;
  readonly timings: StartTimings;
  /** Invocations sent and not yet answered. */
  readonly inflight: number;
  /** True once the process exited or is being stopped: send nothing more. */
  readonly dead: boolean;
  /** Output written while loading and initialising. */
  readonly startLog: string;
  /** Never rejects for function problems: every failure is an InvokeOutcome. */
  invoke(event: string, ctx: InvokeContext, opts: InvokeOptions): Promise<InvokeOutcome>;
  /**
   * Suspend the idle process tree (reserved instances in idle mode): the cgroup freezer in tier A,
   * a no-op elsewhere and while calls are in flight. `invoke` and `close` thaw it first.
   */
  freeze(): void;
  /** Resume a frozen tree (synchronous, cheap); a no-op when not frozen. */
  thaw(): void;
  /** Called once when the process is gone (immediately if it already is). */
  onExit(cb: () => void): void;
  /** Graceful stop: close fd 3, wait up to 2 s, then kill. Idempotent. */
  close(): Promise<void>;
}
