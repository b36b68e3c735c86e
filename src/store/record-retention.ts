import type { Clock, TimerHandle } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { AsyncStore } from "./async-types.js";
import type { Store } from "./types.js";

/** How often old records are looked for. */
export const RETENTION_INTERVAL_MS = 10 * 60 * 1000;

/** Something kept for a set time: deletes what is older than `before` (epoch ms), says how much. */
export interface RetentionTarget {
  what: string;
  prune(before: number): Promise<number>;
}

/** The platform's: invocation records (with their logs) and finished async requests. */
export function retentionTargets(
  store: Pick<Store, "pruneInvocations">,
  asyncStore: Pick<AsyncStore, "pruneFinished">,
): RetentionTarget[] {
  return [
    {
      what: "invocation records",
      prune: (before) => store.pruneInvocations(new Date(before).toISOString()),
    },
    { what: "finished async requests", prune: (before) => asyncStore.pruneFinished(before) },
  ];
}

export interface RecordRetentionOptions {
  targets: readonly RetentionTarget[];
  clock: Clock;
  logger: Logger;
  /** Hours a record is kept; 0 keeps every record. */
  retentionHours: number;
  intervalMs?: number;
}

/**
 * Deletes records older than the retention (invocation records with their logs, finished async
 * requests with their events), at start and then every interval, one run at a time. Without it
 * they grow for ever. `close` stops it and waits for a run in progress (before the stores close).
 */
export function startRecordRetention(opts: RecordRetentionOptions): { close(): Promise<void> } {
  if (opts.retentionHours <= 0) return { close: async () => {} };
  const intervalMs = opts.intervalMs ?? RETENTION_INTERVAL_MS;
  let timer: TimerHandle | undefined;
  let running: Promise<void> = Promise.resolve();
  let closed = false;

  const run = async (): Promise<void> => {
    const before = opts.clock.now() - opts.retentionHours * 3_600_000;
    for (const t of opts.targets) {
      if (closed) return;
      try {
        const deleted = await t.prune(before);
        if (deleted > 0) {
          opts.logger.info(
            { deleted, before: new Date(before).toISOString() },
            `old ${t.what} deleted`,
          );
        }
      } catch (err) {
        opts.logger.warn({ err }, `cannot delete old ${t.what}`);
      }
    }
  };
  const schedule = (ms: number): void => {
    if (closed) return;
    timer = opts.clock.setTimeout(() => {
      timer = undefined;
      running = run().then(() => schedule(intervalMs));
    }, ms);
    timer.unref?.();
  };
  schedule(0);

  return {
    close: async () => {
      closed = true;
      if (timer) opts.clock.clearTimeout(timer);
      await running;
    },
  };
}
