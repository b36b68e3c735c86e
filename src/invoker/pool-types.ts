import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Instance } from "../runtimes/instance.js";
import type { StartLimiter } from "./start-limiter.js";

// The pool's public types and errors (src/invoker/pool.ts), apart so the pool stays one concept.

/** Where a new instance's start-up time went, in ms (cold-start anatomy). */
export interface StartAnatomy {
  /** Finding a place: taking a prewarmed slot and showing it the code, or preparing the code dir. */
  placementMs: number;
  sandboxMs: number;
  bootMs: number;
  /** Loading the function's module (the initializer not included). */
  loadMs: number;
  /** The function's initializer (0 without one). */
  initializerMs: number;
  /** The sandbox and the runtime were started ahead of time (prewarmed pool). */
  prewarmed: boolean;
}

/** What `PoolOptions.start` hands back. */
export interface Started {
  instance: Instance;
  anatomy: StartAnatomy;
}

/** One instance in a pool and the calls it is running. */
export interface Slot {
  readonly instance: Instance;
  readonly anatomy: StartAnatomy;
  inflight: number;
  lastUsed: number;
  /** Not yet used since it started: its first caller had a cold start. */
  fresh: boolean;
  /** Frozen while idle (reserved instance, idle mode); thawed before it gets a call. */
  frozen?: boolean;
}

export interface Lease {
  slot: Slot;
  cold: boolean;
  /** Start phases, on the call that waited for the instance to start. */
  anatomy?: StartAnatomy;
  /** Time waiting for a slot, not counting the start phases of a cold call's own instance. */
  queueMs: number;
}

/** Why a cold start failed, as a function-level result for the caller that waited for it. */
export class StartFailure extends Error {
  readonly errorCode: number;
  readonly payload: { errorMessage: string; errorType: string; stackTrace?: string[] };
  readonly log: string;

  constructor(errorCode: number, payload: StartFailure["payload"], log: string) {
    super(payload.errorMessage);
    this.name = "StartFailure";
    this.errorCode = errorCode;
    this.payload = payload;
    this.log = log;
  }
}

export interface PoolOptions {
  key: string;
  /** Max instances: -1 = up to `hardMaxInstances`, 0 = disabled. */
  maxInstances: number;
  hardMaxInstances: number;
  /** Calls one instance runs at once (`concurrent_num`, ≥ 1). */
  concurrentNum: number;
  keepAliveMs: number;
  /** Calls that may wait for a slot; one more gets 429. */
  maxQueue: number;
  /** How long a call may wait for a slot before it gets 429. */
  queueTimeoutMs: number;
  clock: Clock;
  logger: Logger;
  start: () => Promise<Started>;
  /** Bounds instance starts across every pool (cold starts compete for the same CPUs). */
  limiter?: StartLimiter;
}

export interface PoolStats {
  instances: number;
  starting: number;
  inflight: number;
  queued: number;
  reserved: number;
}

/** The call's client went away while it waited; nobody reads this error. */
export class AcquireCanceled extends Error {
  constructor() {
    super("the caller went away while waiting for an instance");
    this.name = "AcquireCanceled";
  }
}
