import type { AsyncStore, NewAsyncInvocation } from "../store/async.js";

interface Pending {
  row: NewAsyncInvocation;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface AcceptQueue {
  /** Resolves once the request is committed durably (group commit with its neighbours). */
  add(row: NewAsyncInvocation): Promise<void>;
  /** Wait for every pending commit. */
  drain(): Promise<void>;
}

/**
 * Group commit: requests accepted in the same event-loop turn, or while the previous commit is
 * on its way, share one transaction and one fsync. Each caller still waits for its own commit
 * before answering 202.
 */
export function createAcceptQueue(
  store: Pick<AsyncStore, "enqueue">,
  onCommitted: () => void,
): AcceptQueue {
  let pending: Pending[] = [];
  let running: Promise<void> | undefined;

  const flush = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        await store.enqueue(batch.map((p) => p.row));
        for (const p of batch) p.resolve();
        onCommitted();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
  };

  const kick = (): void => {
    if (running) return;
    running = new Promise<void>((resolve) => {
      // After the poll phase, so every request parsed in this turn joins the batch.
      setImmediate(() => {
        void flush().finally(() => {
          running = undefined;
          resolve();
          if (pending.length > 0) kick();
        });
      });
    });
  };

  return {
    add: (row) =>
      new Promise<void>((resolve, reject) => {
        pending.push({ row, resolve, reject });
        kick();
      }),
    drain: async () => {
      while (running) await running;
    },
  };
}
