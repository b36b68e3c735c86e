import { FsError } from "../core/errors.js";
import type { Clock, TimerHandle } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Instance, StartTimings } from "../runtimes/instance.js";

/** One instance in a pool and the calls it is running. */
export interface Slot {
  readonly instance: Instance;
  inflight: number;
  lastUsed: number;
  /** Not yet used since it started: its first caller had a cold start. */
  fresh: boolean;
}

export interface Lease {
  slot: Slot;
  cold: boolean;
  startTimings?: StartTimings;
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
  concurrentNum: number;
  keepAliveMs: number;
  maxQueue: number;
  queueTimeoutMs: number;
  clock: Clock;
  logger: Logger;
  start: () => Promise<Instance>;
}

interface Waiter {
  enqueuedAt: number;
  resolve: (lease: Lease) => void;
  reject: (err: unknown) => void;
  timer?: TimerHandle;
  done: boolean;
}

/**
 * Instances of one (function, version, revision, memory). Hands out slots on warm instances,
 * starts instances within the limit, queues the rest (bounded in length and time), and stops
 * instances idle for the keep-alive.
 */
export class Pool {
  readonly key: string;
  private readonly slots = new Set<Slot>();
  private readonly waiters: Waiter[] = [];
  private starting = 0;
  private retired = false;
  private reapTimer: TimerHandle | undefined;

  private readonly opts: PoolOptions;

  constructor(opts: PoolOptions) {
    this.opts = opts;
    this.key = opts.key;
  }

  get size(): number {
    return this.slots.size;
  }
  get inflight(): number {
    let n = 0;
    for (const s of this.slots) n += s.inflight;
    return n;
  }
  get idle(): boolean {
    return this.inflight === 0 && this.waiters.length === 0 && this.starting === 0;
  }

  acquire(): Promise<Lease> {
    if (this.opts.maxInstances === 0) return Promise.reject(new FsError("FUNCTION_DISABLED"));
    const now = this.opts.clock.now();
    const free = this.freeSlot();
    if (free && this.waiters.length === 0) return Promise.resolve(this.lease(free, now));
    if (this.waiters.length >= this.opts.maxQueue) {
      return Promise.reject(
        new FsError(
          "TOO_MANY_REQUESTS",
          "too many requests waiting for an instance of this function",
        ),
      );
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = { enqueuedAt: now, resolve, reject, done: false };
      waiter.timer = this.opts.clock.setTimeout(() => {
        this.dropWaiter(
          waiter,
          new FsError(
            "TOO_MANY_REQUESTS",
            "timed out waiting for a free instance of this function",
          ),
        );
      }, this.opts.queueTimeoutMs);
      this.waiters.push(waiter);
      this.pump();
    });
  }

  release(slot: Slot): void {
    slot.inflight--;
    slot.lastUsed = this.opts.clock.now();
    if (slot.instance.dead) this.remove(slot);
    else if (this.retired && slot.inflight === 0) void this.stop(slot);
    this.pump();
    this.scheduleReap();
  }

  /** Stop taking new work: idle instances stop now, busy ones when their calls end. */
  retire(): void {
    this.retired = true;
    for (const s of [...this.slots]) if (s.inflight === 0) void this.stop(s);
  }

  async close(): Promise<void> {
    this.retired = true;
    if (this.reapTimer) this.opts.clock.clearTimeout(this.reapTimer);
    for (const w of [...this.waiters])
      this.dropWaiter(w, new FsError("UNAVAILABLE", "platform shutting down"));
    await Promise.all([...this.slots].map((s) => this.stop(s)));
  }

  private lease(slot: Slot, enqueuedAt: number): Lease {
    slot.inflight++;
    const cold = slot.fresh;
    slot.fresh = false;
    const waited = Math.max(0, this.opts.clock.now() - enqueuedAt);
    const t = slot.instance.timings;
    // A cold caller waited for its instance to start; that time is reported as start phases.
    const starting = cold ? t.sandboxMs + t.bootMs + t.loadMs : 0;
    return {
      slot,
      cold,
      ...(cold ? { startTimings: t } : {}),
      queueMs: Math.max(0, waited - starting),
    };
  }

  private freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (s.instance.dead || s.inflight >= this.opts.concurrentNum) continue;
      // Prefer the busiest instance that still has room, so others can go idle and be reaped.
      if (!best || s.inflight > best.inflight) best = s;
    }
    return best;
  }

  private pump(): void {
    while (this.waiters.length > 0) {
      const slot = this.freeSlot();
      if (!slot) break;
      const w = this.waiters.shift()!;
      this.settle(w);
      w.resolve(this.lease(slot, w.enqueuedAt));
    }
    const max = this.opts.maxInstances < 0 ? this.opts.hardMaxInstances : this.opts.maxInstances;
    while (
      this.waiters.length > this.starting * this.opts.concurrentNum &&
      this.slots.size + this.starting < max
    ) {
      this.startFor(this.waiters[this.starting * this.opts.concurrentNum]!);
    }
  }

  private startFor(waiter: Waiter): void {
    this.starting++;
    this.opts.start().then(
      (instance) => {
        this.starting--;
        const slot: Slot = { instance, inflight: 0, lastUsed: this.opts.clock.now(), fresh: true };
        this.slots.add(slot);
        instance.onExit(() => {
          this.remove(slot);
          this.pump();
        });
        this.pump();
        this.scheduleReap();
      },
      (err: unknown) => {
        this.starting--;
        this.dropWaiter(waiter, err);
        this.pump();
      },
    );
  }

  private settle(w: Waiter): void {
    w.done = true;
    if (w.timer) this.opts.clock.clearTimeout(w.timer);
  }

  private dropWaiter(w: Waiter, err: unknown): void {
    if (w.done) return;
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
    this.settle(w);
    w.reject(err);
  }

  private remove(slot: Slot): void {
    this.slots.delete(slot);
  }

  private stop(slot: Slot): Promise<void> {
    this.slots.delete(slot);
    return slot.instance
      .close()
      .catch((err: unknown) => this.opts.logger.warn({ err }, "instance close failed"));
  }

  private scheduleReap(): void {
    if (this.reapTimer || this.slots.size === 0) return;
    let due = Infinity;
    for (const s of this.slots)
      if (s.inflight === 0) due = Math.min(due, s.lastUsed + this.opts.keepAliveMs);
    if (due === Infinity) return;
    this.reapTimer = this.opts.clock.setTimeout(
      () => {
        this.reapTimer = undefined;
        const now = this.opts.clock.now();
        for (const s of [...this.slots]) {
          if (s.inflight === 0 && s.lastUsed + this.opts.keepAliveMs <= now) {
            this.opts.logger.debug({ instanceId: s.instance.id }, "stopping idle instance");
            void this.stop(s);
          }
        }
        this.scheduleReap();
      },
      Math.max(0, due - this.opts.clock.now()),
    );
    this.reapTimer.unref?.();
  }
}
