import type { Clock, TimerHandle } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { InvocationRecord } from "../core/types.js";

/** Collects invocation records and writes them in batches, one transaction each. */
export interface RecordBatcher {
  add(record: InvocationRecord): void;
  /** Write everything collected so far. */
  flush(): Promise<void>;
  /** Flush and wait for every write; later records are written at once. Idempotent. */
  close(): Promise<void>;
}

export interface RecordBatcherOptions {
  write: (records: readonly InvocationRecord[]) => Promise<void>;
  clock: Clock;
  logger: Logger;
  /** How long a record may wait for company. */
  delayMs?: number;
  maxBatch?: number;
}

/**
 * One commit per invocation cost 13 % of the server's CPU on the warm path; a batch every
 * `delayMs` (or `maxBatch` records) costs one. Writes are chained so batches land in order.
 */
export function createRecordBatcher(opts: RecordBatcherOptions): RecordBatcher {
  const delayMs = opts.delayMs ?? 20;
  const maxBatch = opts.maxBatch ?? 256;
  let pending: InvocationRecord[] = [];
  let timer: TimerHandle | undefined;
  let chain: Promise<void> = Promise.resolve();
  let closed = false;

  const flush = (): Promise<void> => {
    if (timer) {
      opts.clock.clearTimeout(timer);
      timer = undefined;
    }
    if (pending.length > 0) {
      const batch = pending;
      pending = [];
      chain = chain.then(() =>
        opts
          .write(batch)
          .catch((err: unknown) =>
            opts.logger.warn({ err, records: batch.length }, "cannot store invocation records"),
          ),
      );
    }
    return chain;
  };

  return {
    add(record) {
      pending.push(record);
      if (closed || pending.length >= maxBatch) void flush();
      else if (!timer) {
        timer = opts.clock.setTimeout(() => {
          timer = undefined;
          void flush();
        }, delayMs);
        timer.unref?.();
      }
    },
    flush,
    close: async () => {
      closed = true;
      await flush();
    },
  };
}
