import type { FunctionRecord, FunctionVersion, LogFrame } from "../core/types.js";
import type { FunctionErrorPayload } from "../runtimes/types.js";

/** A concrete version to run, already resolved from a qualifier. */
export interface InvokeTarget {
  fn: FunctionRecord;
  version: FunctionVersion;
  /** Alias the caller used ("" when none). */
  alias: string;
}

export interface InvokeRequest {
  target: InvokeTarget;
  /** Raw event text (the request body). */
  event: string;
  requestId: string;
  kind: "sync" | "async";
  /** Lower-case request headers passed on to the context (X-Cff-Workflow-Id …). */
  headers?: Record<string, string>;
  /** Per-call memory (X-Cff-Instance-Memory with enable_dynamic_memory). */
  memoryMb?: number;
  /**
   * Stops the call, waiting or running: a running call ends with 4208 (its instance is killed
   * when the call had it to itself). Async cancels, the gateway's timeout.
   */
  signal?: AbortSignal;
  /**
   * The caller stopped waiting (its connection closed): a call still waiting for an instance
   * leaves the queue, a running one runs on to its end or timeout, unread, as FunctionGraph runs
   * a sync call whose client left. Its instance stays warm (docs/decisions.md).
   */
  callerGone?: AbortSignal;
}

/**
 * Breakdown of where an invocation's time went, in ms (cold-start anatomy). On a warm call only
 * `queue` and `handler` are non-zero.
 */
export interface InvokeTimings {
  /** Waiting for a slot (max instances reached, or instance starts bounded). */
  queue: number;
  /** Preparing the code dir and, from the prewarmed pool, showing it to the sandbox. */
  placement?: number;
  /** Sandbox launch (0 when prewarmed: done ahead of time). */
  sandbox: number;
  /** Interpreter start until `ready` (0 when prewarmed). */
  boot: number;
  /** Loading the handler's module. */
  load: number;
  /** The function's initializer (0 without one). */
  initializer?: number;
  handler: number;
  /** 1 when the instance came from the prewarmed pool. */
  prewarmed?: number;
}

export interface InvokeResult {
  requestId: string;
  ok: boolean;
  /** Serialised handler result, or the JSON error payload when !ok. */
  body: string;
  /** 0 on success, else the function error code (contract §3.7). */
  errorCode: number;
  isFuncErr: boolean;
  error?: FunctionErrorPayload;
  /**
   * The function's output (with a cold start's start-up output before it). The whole log puts
   * the Start and Finish lines of `logFrame` around it: `resultLog`.
   */
  output: string;
  logFrame: LogFrame;
  durationMs: number;
  billingMs: number;
  memorySize: number;
  memoryUsedMb: number;
  coldStart: boolean;
  instanceId: string;
  version: string;
  timings: InvokeTimings;
}
