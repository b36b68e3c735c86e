import { Cron } from "croner";
import type { Clock, TimerHandle } from "../core/clock.js";
import { FsError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type {
  ReservedConfig,
  ReservedCron,
  ReservedMetric,
  ReservedStore,
} from "../store/reserved.js";
import type { InvokeTarget } from "./types.js";

/** Reserved instances per account: 90 % of the concurrency quota (contract §1.10). */
export const RESERVED_SHARE = 0.9;
/** How far back a cron tactic is looked for its last firing (restart, or a PUT mid-window). */
const LOOKBACK_MS = 24 * 3600_000;

export interface ReservedOptions {
  store: ReservedStore;
  invoker: {
    setReserved(
      target: InvokeTarget,
      count: number,
      more?: Pick<ReservedSetting, "idleMode" | "metrics">,
    ): void;
    readonly concurrencyQuota: number;
  };
  /** The version a config applies to now (an alias: its main version); undefined once gone. */
  resolve(c: ReservedConfig): Promise<InvokeTarget | undefined>;
  clock: Clock;
  logger: Logger;
}

export interface ReservedInstances {
  /** Restore every stored config and keep its instances running. */
  start(): Promise<void>;
  /** Validate, store and apply one config (count 0 with no tactics removes it). */
  put(c: ReservedConfig, target: InvokeTarget): Promise<void>;
  list(projectId: string): Promise<ReservedConfig[]>;
  /** The count in force now: the last cron tactic that fired inside its window, else `count`. */
  effectiveCount(c: ReservedConfig): number;
  /** Reserved instances the project's configs hold now (they count against its quota). */
  reservedIn(projectId: string): number;
  close(): Promise<void>;
}

/** What the invoker keeps for a reserved setting (its pool applies it). */
export interface ReservedSetting {
  /** Instances kept running now (count, or the cron tactic in force). */
  count: number;
  /** Freeze idle reserved instances until a call comes (idle_mode). */
  idleMode: boolean;
  /** Concurrency tactics: more reserved instances while utilisation is high. */
  metrics: readonly ReservedMetric[];
}

/** How often a pool with metric tactics samples its utilisation (also at every call start). */
export const METRIC_INTERVAL_MS = 1000;

/**
 * The reserved minimum the metric tactics ask for (*decision*, UNCONFIRMED semantics): each
 * `Concurrency` tactic whose threshold (percent) the utilisation — calls in flight or waiting over
 * `instances × concurrent_num` — reaches asks for `min` instances; the largest such `min`, else 0.
 * With no instance, any call is full utilisation.
 */
export function metricMinimum(
  metrics: readonly ReservedMetric[],
  calls: number,
  capacity: number,
): number {
  if (metrics.length === 0) return 0;
  const percent = capacity > 0 ? (calls / capacity) * 100 : calls > 0 ? Infinity : 0;
  let min = 0;
  for (const m of metrics)
    if (m.type === "Concurrency" && percent >= m.threshold) min = Math.max(min, m.min);
  return min;
}

/** Throws FSS.0400 unless every metric tactic is well formed (name, type, threshold, min). */
export function checkMetrics(metrics: readonly ReservedMetric[]): void {
  for (const m of metrics) {
    const bad = (why: string) =>
      new FsError("INVALID_PARAMETER", `metric config ${m.name}: ${why}`);
    if (typeof m.name !== "string" || m.name.length < 1 || m.name.length > 60)
      throw bad("name must be 1-60 characters");
    if (m.type !== "Concurrency") throw bad('type must be "Concurrency"');
    if (!Number.isInteger(m.threshold) || m.threshold < 1 || m.threshold > 100)
      throw bad("threshold must be an integer percentage from 1 to 100");
    if (!Number.isInteger(m.min) || m.min < 0 || m.min > 1000)
      throw bad("min must be an integer from 0 to 1000");
  }
}

/** The most instances a setting may hold at once: count, any cron count, any metric min. */
export function peakOf(c: Pick<ReservedConfig, "count" | "cronConfigs" | "metricConfigs">): number {
  return Math.max(
    c.count,
    ...c.cronConfigs.map((x) => x.count),
    ...c.metricConfigs.map((x) => x.min),
  );
}

/** Throws FSS.0400 when a cron expression does not parse. */
export function checkCron(expr: string): void {
  try {
    new Cron(expr, { paused: true });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new FsError("INVALID_PARAMETER", `invalid cron "${expr}": ${why}`);
  }
}

/** Latest firing of `c` at or before `now` inside its window (epoch ms), if any. */
function lastFiring(c: ReservedCron, now: number): number | undefined {
  const start = c.startTime * 1000;
  const end = c.expiredTime * 1000;
  if (now < start || now >= end) return undefined;
  const from = Math.max(start, now - LOOKBACK_MS);
  const cron = new Cron(c.cron, { paused: true });
  let last: number | undefined;
  // Step through the firings since `from`; a per-second cron is capped by the loop bound.
  let at: Date | null = new Date(from - 1);
  for (let i = 0; i < 100_000; i++) {
    at = cron.nextRun(at);
    if (!at || at.getTime() > now) break;
    last = at.getTime();
  }
  return last;
}

/** Next time the effective count may change: a firing, a window start or end. */
function nextChange(c: ReservedConfig, now: number): number | undefined {
  let next: number | undefined;
  const consider = (t: number | undefined): void => {
    if (t !== undefined && t > now && (next === undefined || t < next)) next = t;
  };
  for (const cron of c.cronConfigs) {
    const start = cron.startTime * 1000;
    const end = cron.expiredTime * 1000;
    consider(start);
    consider(end);
    if (now >= end) continue;
    const n = new Cron(cron.cron, { paused: true }).nextRun(new Date(Math.max(now, start - 1)));
    if (n && n.getTime() < end) consider(n.getTime());
  }
  return next;
}

const keyOf = (c: Pick<ReservedConfig, "functionId" | "qualifier">): string =>
  `${c.functionId}/${c.qualifier}`;

/**
 * Reserved instances (contract §1.10, R1–R3): keeps `count` instances of a version (or an
 * alias's main version) running, switched by cron tactics, counted against the project's quota.
 * The pool replaces a reserved instance that dies.
 */
export function createReservedInstances(opts: ReservedOptions): ReservedInstances {
  const log = opts.logger.child({ part: "reserved" });
  const configs = new Map<string, ReservedConfig>();
  const applied = new Map<string, { target: InvokeTarget; count: number }>();
  const timers = new Map<string, TimerHandle>();
  let closed = false;

  const effectiveCount = (c: ReservedConfig): number => {
    const now = opts.clock.now();
    let best: { at: number; count: number } | undefined;
    for (const cron of c.cronConfigs) {
      const at = lastFiring(cron, now);
      if (at !== undefined && (!best || at >= best.at)) best = { at, count: cron.count };
    }
    return best ? best.count : c.count;
  };

  const apply = (c: ReservedConfig, target: InvokeTarget): void => {
    const key = keyOf(c);
    const count = effectiveCount(c);
    const before = applied.get(key);
    // A different version than before (the alias moved): release the old one first.
    if (before && before.target.version.version !== target.version.version)
      opts.invoker.setReserved(before.target, 0);
    opts.invoker.setReserved(target, count, { idleMode: c.idleMode, metrics: c.metricConfigs });
    applied.set(key, { target, count });
    schedule(c);
  };

  const schedule = (c: ReservedConfig): void => {
    const key = keyOf(c);
    const old = timers.get(key);
    if (old) opts.clock.clearTimeout(old);
    timers.delete(key);
    if (closed) return;
    const at = nextChange(c, opts.clock.now());
    if (at === undefined) return;
    // Long waits are split so a timer never exceeds setTimeout's 24.8-day range.
    const wait = Math.min(at - opts.clock.now(), 2 ** 31 - 1);
    const t = opts.clock.setTimeout(() => {
      timers.delete(key);
      void reapply(c);
    }, wait);
    t.unref?.();
    timers.set(key, t);
  };

  const reapply = async (c: ReservedConfig): Promise<void> => {
    if (closed || configs.get(keyOf(c)) !== c) return;
    try {
      const target = await opts.resolve(c);
      if (!target) {
        release(c);
        return;
      }
      apply(c, target);
    } catch (err) {
      log.warn({ err, functionId: c.functionId }, "cannot apply reserved instances");
      schedule(c);
    }
  };

  const release = (c: Pick<ReservedConfig, "functionId" | "qualifier">): void => {
    const key = keyOf(c);
    const a = applied.get(key);
    if (a) opts.invoker.setReserved(a.target, 0);
    applied.delete(key);
    configs.delete(key);
    const t = timers.get(key);
    if (t) opts.clock.clearTimeout(t);
    timers.delete(key);
  };

  const reservedIn = (projectId: string, except?: string): number => {
    let n = 0;
    for (const [key, c] of configs) {
      if (c.projectId !== projectId || key === except) continue;
      n += peakOf(c);
    }
    return n;
  };

  return {
    start: async () => {
      for (const c of await opts.store.list()) {
        configs.set(keyOf(c), c);
        await reapply(c);
      }
    },
    put: async (c, target) => {
      for (const cron of c.cronConfigs) checkCron(cron.cron);
      checkMetrics(c.metricConfigs);
      const peak = peakOf(c);
      const max = target.version.strategy.concurrency;
      if (max === 0) {
        throw new FsError("INVALID_PARAMETER", "the function is disabled (max instances 0)");
      }
      if (max > 0 && peak > max) {
        throw new FsError(
          "INVALID_PARAMETER",
          `reserved instances (${peak}) exceed the function's max instances (${max})`,
        );
      }
      // Settings of functions or versions deleted since no longer hold any of the quota.
      for (const other of [...configs.values()]) {
        if (other.projectId !== c.projectId || keyOf(other) === keyOf(c)) continue;
        if (!(await opts.resolve(other))) release(other);
      }
      const limit = Math.floor(opts.invoker.concurrencyQuota * RESERVED_SHARE);
      const others = reservedIn(c.projectId, keyOf(c));
      if (others + peak > limit) {
        throw new FsError(
          "INVALID_PARAMETER",
          `reserved instances of the project would be ${others + peak}, above the limit of ${limit} (90% of the concurrency quota)`,
        );
      }
      if (peak === 0) {
        await opts.store.delete(c.functionId, c.qualifier);
        release(c);
        return;
      }
      await opts.store.put(c);
      configs.set(keyOf(c), c);
      apply(c, target);
    },
    list: async (projectId) => [...configs.values()].filter((c) => c.projectId === projectId),
    effectiveCount,
    reservedIn: (projectId) => {
      let n = 0;
      for (const [key, a] of applied) if (configs.get(key)?.projectId === projectId) n += a.count;
      return n;
    },
    close: async () => {
      closed = true;
      for (const t of timers.values()) opts.clock.clearTimeout(t);
      timers.clear();
    },
  };
}
