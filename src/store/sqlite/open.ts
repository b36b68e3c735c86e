import Database from "better-sqlite3";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

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

export interface Checkpointer {
  close(): Promise<void>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma("busy_timeout = 5000");
const checkpoint = () => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch {
    // busy or closing: the next round tries again
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on("message", () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/**
 * Checkpoints the WAL of `file` every `intervalMs` from a worker thread (PASSIVE: writers never
 * wait for it), so the fsyncs of checkpointing leave the event loop's thread.
 */
export function startCheckpointer(file: string, intervalMs = 1000): Checkpointer {
  const module = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { module, file, intervalMs },
  });
  worker.unref();
  worker.on("error", () => {
    // The connections' own fallback checkpoints take over.
  });
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  let closing: Promise<void> | undefined;
  return {
    close: () =>
      (closing ??= (async () => {
        worker.postMessage("close");
        await exited;
      })()),
  };
}
