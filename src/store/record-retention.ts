import type { Clock, TimerHandle } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Store } from "./types.js";

/** How often old invocation records are looked for. */
export const RETENTION_INTERVAL_MS = 10 * 60 * 1000;

export interface RecordRetentionOptions {
  store: Pick<Store, "pruneInvocations">;
  clock: Clock;
  logger: Logger;
  /** Hours a record is kept; 0 keeps every record. */
  retentionHours: number;
  intervalMs?: number;
}

/**
 * Deletes invocation records older than the retention, at start and then every interval (one
 * run at a time). Without it the records grow for ever: ~700 bytes per call. `close` stops it
 * and waits for a run in progress (before the store closes).
 */
export function startRecordRetention(opts: RecordRetentionOptions): { close(): Promise<void> } {
  if (opts.retentionHours <= 0) return { close: async () => {} };
  const intervalMs = opts.intervalMs ?? RETENTION_INTERVAL_MS;
  let timer: TimerHandle | undefined;
  let running: Promise<void> = Promise.resolve();
  let closed = false;

  const run = async (): Promise<void> => {
    const before = new Date(opts.clock.now() - opts.retentionHours * 3_600_000).toISOString();
    try {
      const deleted = await opts.store.pruneInvocations(before);
      if (deleted > 0) opts.logger.info({ deleted, before }, "old invocation records deleted");
    } catch (err) {
      opts.logger.warn({ err }, "cannot delete old invocation records");
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
