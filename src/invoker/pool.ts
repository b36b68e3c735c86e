import { FsError } from "../core/errors.js";
import type { TimerHandle } from "../core/clock.js";
import type { ReservedMetric } from "../store/reserved.js";
import {
  AcquireCanceled,
  StartFailure,
  type Lease,
  type PoolOptions,
  type PoolStats,
  type Slot,
  type StartAnatomy,
  type Started,
} from "./pool-types.js";
import { nextReapDue, parkPlan, reapable } from "./pool-idle.js";
import { METRIC_INTERVAL_MS, metricMinimum, type ReservedSetting } from "./reserved-instances.js";

export { AcquireCanceled, StartFailure };
export type { Lease, PoolOptions, PoolStats, Slot, StartAnatomy, Started };

interface Waiter {
  enqueuedAt: number;
  resolve: (lease: Lease) => void;
  reject: (err: unknown) => void;
  timer?: TimerHandle;
  signal?: AbortSignal;
  onAbort?: () => void;
  done: boolean;
}

const RESERVED_RETRY_MS = 5000;

/**
 * Instances of one (function, version, revision, memory). Hands out slots on warm instances,
 * starts instances within the limit, queues the rest (bounded in length and time), keeps the
 * reserved minimum running, and stops instances idle for the keep-alive.
 *
 * Invariants: instances + starts in progress ≤ max instances; calls on an instance ≤
 * concurrent_num; a start is only begun for a waiting call no other instance or start covers.
 */
export class Pool {
  readonly key: string;
  private readonly slots = new Set<Slot>();
  private readonly waiters: Waiter[] = [];
  private starting = 0;
  /** Reserved instances: kept running whatever the keep-alive, replaced when one dies. */
  private minInstances = 0;
  /** The reserved count; metric tactics may raise `minInstances` above it. */
  private baseMin = 0;
  private idleMode = false;
  private metrics: readonly ReservedMetric[] = [];
  private metricTimer: TimerHandle | undefined;
  private frozenSlots = 0;
  private retired = false;
  private drainedWaiters: (() => void)[] = [];
  private reapTimer: TimerHandle | undefined;
  private reapDue = Infinity;

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
  get isRetired(): boolean {
    return this.retired;
  }
  stats(): PoolStats {
    return {
      instances: this.slots.size,
      starting: this.starting,
      inflight: this.inflight,
      queued: this.waiters.length,
      reserved: this.minInstances,
    };
  }

  private get max(): number {
    const m = this.opts.maxInstances;
    return m < 0 ? this.opts.hardMaxInstances : Math.min(m, this.opts.hardMaxInstances);
  }

  /** Keep `n` instances running (reserved instances), bounded by max instances. */
  setMinInstances(n: number): void {
    this.baseMin = Math.max(0, n);
    this.updateMin();
  }

  /**
   * Apply a reserved setting: keep `count` instances running (more while a metric tactic's
   * utilisation threshold is reached, checked every second and at every call start), and in
   * idle mode freeze the idle reserved ones until a call comes.
   */
  setReserved(setting: ReservedSetting): void {
    this.idleMode = setting.idleMode;
    this.metrics = setting.metrics;
    this.setMinInstances(setting.count);
    this.scheduleMetrics();
  }

  private updateMin(): void {
    if (this.retired) return;
    const calls = this.inflight + this.waiters.length;
    const capacity = this.slots.size * this.opts.concurrentNum;
    const want = Math.max(this.baseMin, metricMinimum(this.metrics, calls, capacity));
    this.minInstances = Math.max(0, Math.min(want, this.max));
    this.fill();
    this.scheduleReap();
    this.park();
  }

  private scheduleMetrics(): void {
    if (this.metricTimer) this.opts.clock.clearTimeout(this.metricTimer);
    this.metricTimer = undefined;
    if (this.retired || this.metrics.length === 0) return;
    this.metricTimer = this.opts.clock.setTimeout(() => {
      this.metricTimer = undefined;
      this.updateMin();
      this.scheduleMetrics();
    }, METRIC_INTERVAL_MS);
    this.metricTimer.unref?.();
  }

  /**
   * Idle mode: freeze the idle instances that make up the reserved minimum (the most recently
   * used, which the reaper keeps); thaw any other frozen one (the minimum went down).
   */
  private park(): void {
    if (!this.idleMode && this.frozenSlots === 0) return;
    const plan = parkPlan(this.slots, this.minInstances, this.idleMode && !this.retired);
    for (const s of plan.freeze) {
      if (s.frozen) continue;
      s.frozen = true;
      this.frozenSlots++;
      s.instance.freeze();
    }
    for (const s of plan.thaw) this.thawSlot(s);
  }

  private thawSlot(slot: Slot): void {
    if (!slot.frozen) return;
    slot.frozen = false;
    this.frozenSlots--;
    slot.instance.thaw();
  }

  /**
   * A lease on an instance with room for the call, when there is one and nobody waits: what
   * `acquire` resolves with at once, without a promise (a warm call's await of one was a turn
   * of the microtask queue). Undefined when `acquire` has to decide.
   */
  tryAcquire(signal?: AbortSignal): Lease | undefined {
    if (this.opts.maxInstances === 0 || signal?.aborted || this.waiters.length > 0)
      return undefined;
    const free = this.freeSlot();
    if (!free) return undefined;
    const lease = this.lease(free, this.opts.clock.now());
    if (this.metrics.length > 0) this.updateMin();
    return lease;
  }

  acquire(signal?: AbortSignal): Promise<Lease> {
    if (this.opts.maxInstances === 0) return Promise.reject(new FsError("FUNCTION_DISABLED"));
    if (signal?.aborted) return Promise.reject(new AcquireCanceled());
    const ready = this.tryAcquire(signal);
    if (ready) return Promise.resolve(ready);
    const now = this.opts.clock.now();
    // The queue is the calls no instance start will serve: a call that makes the pool start an
    // instance is not queued, it waits for its cold start.
    const covered = this.starting * this.opts.concurrentNum;
    const canStart = this.slots.size + this.starting < this.max;
    if (!canStart && this.waiters.length - covered >= this.opts.maxQueue) {
      return Promise.reject(
        new FsError(
          "TOO_MANY_REQUESTS",
          `too many requests waiting for an instance of this function (queue of ${this.opts.maxQueue})`,
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
            `no instance of this function became free within ${this.opts.queueTimeoutMs} ms`,
          ),
        );
      }, this.opts.queueTimeoutMs);
      if (signal) {
        // A call whose client left must not keep a place in the queue, nor make the pool start
        // an instance for it (that is how the bench saw more instances than connections).
        waiter.signal = signal;
        waiter.onAbort = () => this.dropWaiter(waiter, new AcquireCanceled());
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
      this.pump();
      if (this.metrics.length > 0) this.updateMin();
    });
  }

  release(slot: Slot): void {
    slot.inflight--;
    slot.lastUsed = this.opts.clock.now();
    if (slot.instance.dead) this.remove(slot);
    else if (this.retired && slot.inflight === 0) void this.stop(slot);
    this.pump();
    this.scheduleReap();
    this.park();
  }

  /** Stop taking new work: idle instances stop now, busy ones when their calls end. */
  retire(): void {
    this.retired = true;
    this.minInstances = 0;
    this.scheduleMetrics();
    for (const s of [...this.slots]) if (s.inflight === 0) void this.stop(s);
  }

  /** Resolves once a retired pool has no instance left (running or starting). */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      this.drainedWaiters.push(resolve);
      this.checkDrained();
    });
  }

  private checkDrained(): void {
    if (!this.retired || this.slots.size > 0 || this.starting > 0) return;
    for (const r of this.drainedWaiters.splice(0)) r();
  }

  async close(): Promise<void> {
    this.retired = true;
    this.minInstances = 0;
    this.scheduleMetrics();
    if (this.reapTimer) this.opts.clock.clearTimeout(this.reapTimer);
    this.reapTimer = undefined;
    for (const w of [...this.waiters])
      this.dropWaiter(w, new FsError("UNAVAILABLE", "platform shutting down"));
    await Promise.all([...this.slots].map((s) => this.stop(s)));
  }

  private lease(slot: Slot, enqueuedAt: number): Lease {
    this.thawSlot(slot);
    slot.inflight++;
    const cold = slot.fresh;
    slot.fresh = false;
    const waited = Math.max(0, this.opts.clock.now() - enqueuedAt);
    const a = slot.anatomy;
    // A cold caller waited for its instance to start; that time is reported as start phases.
    const starting = cold ? a.placementMs + a.sandboxMs + a.bootMs + a.loadMs + a.initializerMs : 0;
    return {
      slot,
      cold,
      ...(cold ? { anatomy: a } : {}),
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
    if (this.retired) return;
    // Waiters left have no free slot: each start in progress will cover concurrent_num of them.
    while (
      this.waiters.length > this.starting * this.opts.concurrentNum &&
      this.slots.size + this.starting < this.max
    ) {
      this.startOne(this.waiters[this.starting * this.opts.concurrentNum]);
    }
    this.fill();
  }

  /** Start instances up to the reserved minimum. */
  private fill(): void {
    if (this.retired) return;
    while (this.slots.size + this.starting < this.minInstances) this.startOne(undefined);
  }

  private startOne(waiter: Waiter | undefined): void {
    this.starting++;
    const limiter = this.opts.limiter;
    const run = limiter ? limiter.run(this.opts.start) : this.opts.start();
    run.then(
      ({ instance, anatomy }) => {
        this.starting--;
        if (this.retired || instance.dead) {
          void instance.close();
          this.pump();
          this.checkDrained();
          return;
        }
        const now = this.opts.clock.now();
        // Reserved instances started with no caller are warm, not cold, for their first call.
        const slot: Slot = { instance, anatomy, inflight: 0, lastUsed: now, fresh: !!waiter };
        this.slots.add(slot);
        instance.onExit(() => {
          if (!this.slots.has(slot)) return;
          this.remove(slot);
          // A reserved instance that died is replaced (fill), as is capacity waiters need.
          this.pump();
        });
        this.pump();
        this.scheduleReap();
        // A reserved instance that started with no caller is frozen now, in idle mode.
        this.park();
      },
      (err: unknown) => {
        this.starting--;
        this.checkDrained();
        if (waiter) this.dropWaiter(waiter, err);
        else {
          this.opts.logger.warn({ err }, "reserved instance failed to start");
          // No tight loop on a failing reserved start: try again a little later.
          const t = this.opts.clock.setTimeout(() => this.fill(), RESERVED_RETRY_MS);
          t.unref?.();
        }
        if (waiter) this.pump();
      },
    );
  }

  private settle(w: Waiter): void {
    w.done = true;
    if (w.timer) this.opts.clock.clearTimeout(w.timer);
    if (w.signal && w.onAbort) w.signal.removeEventListener("abort", w.onAbort);
  }

  private dropWaiter(w: Waiter, err: unknown): void {
    if (w.done) return;
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
    this.settle(w);
    w.reject(err);
  }

  private remove(slot: Slot): void {
    this.thawSlot(slot);
    this.slots.delete(slot);
    this.checkDrained();
  }

  private stop(slot: Slot): Promise<void> {
    // close() thaws too; here the count of frozen slots stays right.
    this.thawSlot(slot);
    this.slots.delete(slot);
    this.checkDrained();
    return slot.instance
      .close()
      .catch((err: unknown) => this.opts.logger.warn({ err }, "instance close failed"));
  }

  private scheduleReap(): void {
    if (this.slots.size <= this.minInstances) return;
    const due = nextReapDue(this.slots, this.opts.keepAliveMs);
    if (due === Infinity) return;
    // Keep the earliest timer; a later-due one would leave idle instances running too long.
    if (this.reapTimer && this.reapDue <= due) return;
    if (this.reapTimer) this.opts.clock.clearTimeout(this.reapTimer);
    this.reapDue = due;
    this.reapTimer = this.opts.clock.setTimeout(
      () => {
        this.reapTimer = undefined;
        this.reapDue = Infinity;
        const now = this.opts.clock.now();
        for (const s of reapable(this.slots, this.minInstances, this.opts.keepAliveMs, now)) {
          this.opts.logger.debug({ instanceId: s.instance.id }, "stopping idle instance");
          void this.stop(s);
        }
        this.scheduleReap();
        this.park();
      },
      Math.max(0, due - this.opts.clock.now()),
    );
    this.reapTimer.unref?.();
  }
}
