import Database from "better-sqlite3";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { InvocationRecord } from "../../core/types.js";
import {
  groupPacked,
  INSERT_BATCH_SQL,
  LINE_FORMAT,
  INSERT_SINGLE_SQL,
  PACKED_NUMBERS,
  PACKED_STRINGS,
  packRecords,
  RECORDS_IN_ROW_SQL,
  lineFrom,
  packedStrings,
  recordFrom,
  requestIdSecond,
  standardTimings,
  TIMING_KEYS,
} from "./invocation-rows.js";

/**
 * A connection only checkpoints the WAL itself once it holds this many pages (~40 MB): the
 * checkpointer thread normally does it long before. A checkpoint fsyncs the database file, and on
 * the event loop's thread that stalls every call in flight (13 µs per invocation record here).
 */
const FALLBACK_CHECKPOINT_PAGES = 10_000;

export interface OpenOptions {
  /** FULL: the WAL is fsynced at every commit (the async queue's accepts). Default NORMAL. */
  synchronous?: "FULL" | "NORMAL";
  /** Default on. */
  foreignKeys?: boolean;
}

/** One connection to the store's file, WAL mode, as every SQLite store of fngraph opens it. */
export function openDatabase(file: string, opts: OpenOptions = {}): Database.Database {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${opts.synchronous ?? "NORMAL"}`);
  db.pragma(`foreign_keys = ${opts.foreignKeys === false ? "OFF" : "ON"}`);
  db.pragma("busy_timeout = 5000");
  if (file !== ":memory:") db.pragma(`wal_autocheckpoint = ${FALLBACK_CHECKPOINT_PAGES}`);
  return db;
}

/**
 * The worker thread is gone (it threw outside its own handlers, ran out of memory, or was
 * terminated): nothing sent to it is written. Its last batch may or may not have been committed.
 */
export class StoreWorkerStopped extends Error {
  constructor(cause: unknown) {
    super(
      `the store worker has stopped: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = "StoreWorkerStopped";
  }
}

/** The store's helper thread: WAL checkpoints and invocation-record writes. */
export interface StoreWorker {
  /** Insert or replace these records, committed when the promise resolves. */
  writeInvocations(rows: readonly InvocationRecord[]): Promise<void>;
  /**
   * Delete the records that started before `before` (ISO time), a few thousand per turn of the
   * worker's loop so that record writes go on meanwhile. Resolves with how many were deleted.
   */
  pruneInvocations(before: string): Promise<number>;
  close(): Promise<void>;
  /** Stop the thread at once, without its last checkpoint: what a crash of it does. */
  terminate(): Promise<void>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma("busy_timeout = 5000");
db.pragma("synchronous = NORMAL");
db.pragma("foreign_keys = ON");
db.pragma("wal_autocheckpoint = 0");
// Records go in grouped (invocation-rows.ts): batch rows, and a row each for other request ids.
const requestIdSecond = ${requestIdSecond.toString()};
const standardTimings = ${standardTimings.toString()};
const packedStrings = ${packedStrings.toString()};
const recordFrom = ${recordFrom.toString()};
const lineFrom = ${lineFrom.toString()};
const groupPacked = ${groupPacked.toString()};
const TIMING_KEYS = ${JSON.stringify(TIMING_KEYS)};
const LINE_FORMAT = ${JSON.stringify(LINE_FORMAT)};
let insertSingle;
let insertBatch;
const writeBatch = (b) => {
  insertBatch ??= db.prepare(${JSON.stringify(INSERT_BATCH_SQL)});
  insertBatch.run(b.functionId, b.second, b.createdAt, b.data);
};
const writeSingle = (r) => {
  insertSingle ??= db.prepare(${JSON.stringify(INSERT_SINGLE_SQL)});
  insertSingle.run(r.requestId, r.functionId, r.startedAt, r.data);
};
const insertAll = db.transaction((g) => {
  for (const b of g.batches) writeBatch(b);
  for (const r of g.single) writeSingle(r);
});
// Still one transaction: a failed row (its function deleted meanwhile: foreign key) undoes only
// its own statement and must not lose the others. Returns the last row's error, if any.
const insertEach = db.transaction((g) => {
  let error;
  const each = (rows, write) => {
    for (const r of rows) {
      try {
        write(r);
      } catch (err) {
        error = String(err && err.message ? err.message : err);
      }
    }
  };
  each(g.batches, writeBatch);
  each(g.single, writeSingle);
  return error;
});
const checkpoint = () => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch {
    // busy or closing: the next round tries again
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
const PRUNE_BATCH = 2000;
// Batch rows hold up to a second of one function's records each.
const PRUNE_BATCH_ROWS = 20;
// Function by function, through invocations_function and invocation_batches_function
// (function_id, created_at): every record belongs to a function that exists (foreign key,
// ON DELETE CASCADE). Each statement answers with the records it deleted.
// Prepared at first use: the worker also serves files that only hold the invocations table.
let functionIds;
let pruners;
let closed = false;
const prune = (m) => {
  let deleted = 0;
  const work = [];
  try {
    functionIds ??= db.prepare("SELECT id FROM functions").pluck();
    pruners ??= [
      {
        limit: PRUNE_BATCH,
        stmt: db.prepare(
          "DELETE FROM invocations WHERE rowid IN (SELECT rowid FROM invocations WHERE function_id = ? AND created_at < ? LIMIT " +
            PRUNE_BATCH +
            ") RETURNING 1 AS n",
        ),
      },
      {
        limit: PRUNE_BATCH_ROWS,
        stmt: db.prepare(
          "DELETE FROM invocation_batches WHERE id IN (SELECT id FROM invocation_batches WHERE function_id = ? AND created_at < ? LIMIT " +
            PRUNE_BATCH_ROWS +
            ") RETURNING ${RECORDS_IN_ROW_SQL} AS n",
        ),
      },
    ];
    for (const id of functionIds.all()) for (const p of pruners) work.push({ id, p });
  } catch (err) {
    return parentPort.postMessage({ id: m.id, deleted, error: String(err && err.message ? err.message : err) });
  }
  const step = () => {
    if (closed || work.length === 0) return parentPort.postMessage({ id: m.id, deleted });
    const { id, p } = work[0];
    let rows;
    try {
      rows = p.stmt.all(id, m.before);
    } catch (err) {
      return parentPort.postMessage({ id: m.id, deleted, error: String(err && err.message ? err.message : err) });
    }
    for (const r of rows) deleted += r.n;
    if (rows.length < p.limit) work.shift();
    setImmediate(step);
  };
  step();
};
parentPort.on("message", (m) => {
  if (m.type === "prune") return prune(m);
  if (m.type === "invocations") {
    let error;
    const g = groupPacked(m.rows, TIMING_KEYS, ${PACKED_STRINGS}, ${PACKED_NUMBERS});
    try {
      insertAll(g);
    } catch {
      error = insertEach(g);
    }
    parentPort.postMessage({ id: m.id, error });
    return;
  }
  closed = true;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/**
 * Starts the helper thread of the store file `file`: it checkpoints the WAL every `intervalMs`
 * (PASSIVE: writers never wait for it) and writes invocation records, so neither the fsyncs of
 * checkpointing nor the inserts of a busy invoke path run on the event loop's thread. The file
 * must already hold the invocations table (migrated).
 */
export function startStoreWorker(file: string, intervalMs = 1000): StoreWorker {
  const module = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { module, file, intervalMs },
  });
  worker.unref();
  const waiting = new Map<
    number,
    { resolve: (deleted: number) => void; reject: (err: Error) => void }
  >();
  let failed: Error | undefined;
  const failAll = (err: Error): void => {
    failed ??= err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on("message", (m: { id: number; error?: string; deleted?: number }) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(m.error));
    else w.resolve(m.deleted ?? 0);
  });
  worker.on("error", (err) => failAll(new StoreWorkerStopped(err)));
  const exited = new Promise<void>((resolve) =>
    worker.once("exit", (code) => {
      failAll(new StoreWorkerStopped(`exit code ${code}`));
      resolve();
    }),
  );
  let nextId = 0;
  let closing: Promise<void> | undefined;
  /** Send a request to the worker; resolves with its answer's count. */
  const ask = (msg: Record<string, unknown>, transfer?: ArrayBuffer[]): Promise<number> => {
    if (failed || closing) {
      return Promise.reject(failed ?? new Error("the store worker is closing"));
    }
    const id = ++nextId;
    return new Promise<number>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      // Referenced while a request is pending: the process must not exit before it commits.
      worker.ref();
      worker.postMessage({ ...msg, id }, transfer);
    }).finally(() => {
      if (waiting.size === 0) worker.unref();
    });
  };
  return {
    writeInvocations: async (rows) => {
      if (rows.length === 0) return;
      // Packed (invocation-rows.ts): the worker makes the rows' lines from the packed values.
      const packed = packRecords(rows);
      await ask({ type: "invocations", rows: packed }, [
        packed.lens.buffer,
        packed.nums.buffer,
      ]).catch((err: Error) => {
        if (err instanceof StoreWorkerStopped) throw err;
        throw new Error(`some invocation records were not stored: ${err.message}`);
      });
    },
    pruneInvocations: (before) => ask({ type: "prune", before }),
    close: () =>
      (closing ??= (async () => {
        worker.postMessage({ type: "close" });
        await exited;
      })()),
    terminate: async () => {
      await worker.terminate();
      await exited;
    },
  };
}
