import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { DependencyRef, InvocationRecord } from "../core/types.js";
import type { RuntimeDef } from "../runtimes/types.js";
import type { Sandbox } from "../sandbox/types.js";
import type { StartInstance } from "./instance-starter.js";
import type { PrewarmPool, PrewarmStats } from "./prewarm-pool.js";
import type { ReservedSetting } from "./reserved-instances.js";
import type { StartLimiter } from "./start-limiter.js";
import type { InvokeRequest, InvokeResult, InvokeTarget } from "./types.js";

/** Types of the invoker (invoker.ts): its options, its interface and its live figures. */

export interface InvokerOptions {
  sandbox: Sandbox;
  runtimes: { get(name: string): RuntimeDef | undefined };
  /**
   * Directory holding the unpacked code of a digest (created once per digest), merged with the
   * version's dependency packages when it has any (dependency files win, contract §1.8).
   */
  codeDir: (digest: string, dependencies: readonly DependencyRef[]) => Promise<string>;
  /**
   * Where invocation records go: must only queue them (main.ts batches the writes), and at once:
   * a promise per call here was two promises and a turn of the microtask queue per warm call.
   */
  record: (r: InvocationRecord) => void;
  logger: Logger;
  clock: Clock;
  keepAliveMs: number;
  /** Project-wide concurrent executions. */
  concurrencyQuota: number;
  /** Ceiling for max instances -1 (unlimited). Default 400 (console default). */
  hardMaxInstances?: number;
  /** Calls that may wait per function pool when every allowed instance is busy. Default 1000. */
  maxQueue?: number;
  /** How long such a call waits before 429. Default 60 s. */
  queueTimeoutMs?: number;
  maxLogBytes?: number;
  /** Host directories functions may bind-mount under /mnt (config mountRoots). */
  mountRoots?: readonly string[];
  /** Generic runtimes started ahead of time; cold starts take one when it fits. */
  prewarm?: PrewarmPool;
  /** Shared bound on instance starts in progress (default: 2 per CPU, at least 4). */
  limiter?: StartLimiter;
  /** Replaces the sandboxed start (unit tests with fake instances). */
  startInstance?: StartInstance;
}

/** Live figures of one project, for GET /fgs/quotas. */
export interface ProjectUsage {
  /** Calls admitted and not finished (running or waiting for an instance). */
  concurrency: number;
  instances: number;
  reserved: number;
}

export interface InvokerStats {
  pools: number;
  instances: number;
  starting: number;
  inflight: number;
  queued: number;
  reserved: number;
  prewarm?: PrewarmStats;
}

export interface Invoker {
  invoke(req: InvokeRequest): Promise<InvokeResult>;
  /** Retire the instances of a function (all versions, or one): code or config changed, or deleted. */
  retire(functionId: string, version?: string): void;
  /**
   * Keep `count` instances of this version running (reserved instances, contract §1.10): started
   * now, kept whatever the keep-alive, replaced when one dies. 0 releases them (unless metric
   * tactics may ask for some). `more`: idle mode and metric tactics (default off / none).
   */
  setReserved(
    target: InvokeTarget,
    count: number,
    more?: Pick<ReservedSetting, "idleMode" | "metrics">,
  ): void;
  stats(): InvokerStats;
  usage(projectId: string): ProjectUsage;
  /** The project-wide concurrency quota this invoker enforces. */
  readonly concurrencyQuota: number;
  close(): Promise<void>;
}
