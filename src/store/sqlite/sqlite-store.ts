import type Database from "better-sqlite3";
import { z } from "zod";
import type {
  FunctionAlias,
  FunctionRecord,
  FunctionVersion,
  Identity,
  InvocationRecord,
} from "../../core/types.js";
import { parseData, toFunction } from "../rows.js";
import type { ListFunctionsQuery, Store } from "../types.js";
import { MIGRATIONS, type Migration } from "./migrations.js";
import type { Logger } from "../../core/logger.js";
import { openDatabase, startStoreWorker, StoreWorkerStopped, type StoreWorker } from "./open.js";
import {
  findInvocation,
  groupInvocations,
  INSERT_BATCH_SQL,
  INSERT_SINGLE_SQL,
  RECORDS_IN_ROW_SQL,
} from "./invocation-rows.js";

/** Entries of the read cache of functions, versions and aliases before it starts over. */
const CACHE_ENTRIES = 10_000;

/** Freeze a plain JSON value and everything in it. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A store worker that stopped is replaced at most this often; meanwhile the main thread writes. */
const WORKER_RESTART_MS = 10_000;

export interface SqliteStoreOptions {
  logger?: Logger;
  /** How the helper thread is started (tests capture it to stop it). */
  startWorker?: (file: string) => StoreWorker;
  /** Epoch ms, for the restart interval (tests). */
  now?: () => number;
}

/** SQLite store in WAL mode: the embedded default (better-sqlite3 12.x). */
export function createSqliteStore(file: string, opts: SqliteStoreOptions = {}): Store {
  const db = openDatabase(file);
  migrate(db);
  const startWorker = opts.startWorker ?? startStoreWorker;
  const now = opts.now ?? Date.now;
  let worker = file === ":memory:" ? undefined : startWorker(file);
  let workerStoppedAt: number | undefined;
  /**
   * The worker thread is gone: its batch is written again here (INSERT OR REPLACE makes a batch
   * it had committed harmless), and so is every batch until a new worker is started, at most
   * once per WORKER_RESTART_MS. Records are never dropped because the thread died.
   */
  const onWorkerStopped = (err: StoreWorkerStopped): void => {
    if (worker)
      opts.logger?.error({ err }, "the store's worker thread stopped; writing on the main thread");
    worker = undefined;
    workerStoppedAt = now();
  };
  /** After a failure of `w`: rethrown unless the thread is gone, when the caller falls back. */
  const onWorkerFailure = (w: StoreWorker, err: unknown): void => {
    if (!(err instanceof StoreWorkerStopped) || closed) throw err;
    if (w === worker) onWorkerStopped(err);
  };
  const currentWorker = (): StoreWorker | undefined => {
    if (!worker && workerStoppedAt !== undefined && !closed) {
      if (now() - workerStoppedAt >= WORKER_RESTART_MS) {
        workerStoppedAt = undefined;
        worker = startWorker(file);
      }
    }
    return worker;
  };

  const q = {
    loadIdentity: db.prepare("SELECT data FROM identity WHERE id = 1"),
    saveIdentity: db.prepare(
      "INSERT INTO identity (id, data) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET data = excluded.data",
    ),
    insertFunction: db.prepare(
      "INSERT OR IGNORE INTO functions (id, project_id, package, name, runtime, created_at) VALUES (@id, @projectId, @package, @name, @runtime, @createdAt)",
    ),
    getFunction: db.prepare(
      "SELECT * FROM functions WHERE project_id = ? AND package = ? AND name = ?",
    ),
    getFunctionById: db.prepare("SELECT * FROM functions WHERE id = ?"),
    countFunctions: db.prepare("SELECT count(*) AS n FROM functions WHERE project_id = ?"),
    deleteFunction: db.prepare("DELETE FROM functions WHERE id = ?"),
    getVersion: db.prepare("SELECT data FROM versions WHERE function_id = ? AND version = ?"),
    listVersions: db.prepare(
      "SELECT data FROM versions WHERE function_id = ? ORDER BY created_seq, rowid",
    ),
    putVersion: db.prepare(
      `INSERT INTO versions (function_id, version, digest, code_size, data) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(function_id, version) DO UPDATE SET digest = excluded.digest, code_size = excluded.code_size, data = excluded.data`,
    ),
    deleteVersion: db.prepare("DELETE FROM versions WHERE function_id = ? AND version = ?"),
    digestRef: db.prepare("SELECT 1 FROM versions WHERE digest = ? LIMIT 1"),
    codeSize: db.prepare(
      "SELECT coalesce(sum(v.code_size), 0) AS n FROM versions v JOIN functions f ON f.id = v.function_id WHERE f.project_id = ?",
    ),
    deleteVersionAliases: db.prepare("DELETE FROM aliases WHERE function_id = ? AND version = ?"),
    insertAlias: db.prepare(
      "INSERT OR IGNORE INTO aliases (function_id, name, version, data) VALUES (?, ?, ?, ?)",
    ),
    updateAlias: db.prepare(
      "UPDATE aliases SET version = ?, data = ? WHERE function_id = ? AND name = ?",
    ),
    getAlias: db.prepare("SELECT data FROM aliases WHERE function_id = ? AND name = ?"),
    listAliases: db.prepare(
      "SELECT data FROM aliases WHERE function_id = ? ORDER BY created_seq, rowid",
    ),
    deleteAlias: db.prepare("DELETE FROM aliases WHERE function_id = ? AND name = ?"),
    addInvocation: db.prepare(INSERT_SINGLE_SQL),
    addInvocationBatch: db.prepare(INSERT_BATCH_SQL),
    functionIds: db.prepare("SELECT id FROM functions").pluck(),
    pruneInvocations: db.prepare(
      "DELETE FROM invocations WHERE function_id = ? AND created_at < ?",
    ),
    pruneInvocationBatches: db.prepare(
      `DELETE FROM invocation_batches WHERE function_id = ? AND created_at < ? RETURNING ${RECORDS_IN_ROW_SQL} AS n`,
    ),
  };

  const count = (row: unknown): number => z.object({ n: z.number() }).parse(row).n;

  /**
   * Every invocation reads its function and version (and alias): answered from memory until a
   * write to functions, versions or aliases. Only this process writes the file (one SQLite
   * platform per data dir), so nothing else can make an entry stale. Values are frozen: a caller
   * that wants to change one copies it first (they all do, `{ ...v }`).
   */
  const cache = new Map<string, unknown>();
  const cached = <T>(key: string, load: () => T | undefined): T | undefined => {
    if (cache.has(key)) return cache.get(key) as T | undefined;
    const value = load();
    if (cache.size >= CACHE_ENTRIES) cache.clear();
    cache.set(key, value === undefined ? undefined : deepFreeze(value));
    return value;
  };
  let revision = 0;
  const changed = (): void => {
    revision++;
    cache.clear();
  };

  const putVersion = (v: FunctionVersion): void => {
    changed();
    q.putVersion.run(v.functionId, v.version, v.codeDigest, v.codeSize, JSON.stringify(v));
  };
  const createFunction = db.transaction((fn: FunctionRecord, latest: FunctionVersion): boolean => {
    const res = q.insertFunction.run(fn);
    if (res.changes === 0) return false;
    changed();
    putVersion(latest);
    return true;
  });

  const addInvocations = db.transaction((rs: readonly InvocationRecord[]): void => {
    const g = groupInvocations(rs);
    for (const b of g.batches)
      q.addInvocationBatch.run(b.functionId, b.second, b.createdAt, b.data);
    for (const r of g.single) q.addInvocation.run(r.requestId, r.functionId, r.startedAt, r.data);
  });
  const deleteVersion = db.transaction((functionId: string, version: string): void => {
    changed();
    q.deleteVersionAliases.run(functionId, version);
    q.deleteVersion.run(functionId, version);
  });

  let closed = false;
  return {
    kind: "sqlite",
    revision: () => revision,
    loadIdentity: async () => {
      const row = q.loadIdentity.get();
      return row ? parseData<Identity>(row) : undefined;
    },
    saveIdentity: async (identity) => {
      q.saveIdentity.run(JSON.stringify(identity));
    },
    createFunction: async (fn, latest) => createFunction(fn, latest),
    getFunction: async (projectId, pkg, name) =>
      cached(`f\0${projectId}\0${pkg}\0${name}`, () => {
        const row = q.getFunction.get(projectId, pkg, name);
        return row ? toFunction(row) : undefined;
      }),
    getFunctionById: async (id) =>
      cached(`i\0${id}`, () => {
        const row = q.getFunctionById.get(id);
        return row ? toFunction(row) : undefined;
      }),
    listFunctions: async (lq: ListFunctionsQuery) => {
      const where = ["project_id = ?"];
      const args: unknown[] = [lq.projectId];
      if (lq.package) {
        where.push("package = ?");
        args.push(lq.package);
      }
      if (lq.name) {
        where.push("instr(name, ?) > 0");
        args.push(lq.name);
      }
      const w = where.join(" AND ");
      const total = count(
        db.prepare(`SELECT count(*) AS n FROM functions WHERE ${w}`).get(...args),
      );
      const rows = db
        .prepare(`SELECT * FROM functions WHERE ${w} ORDER BY created_at, name LIMIT ? OFFSET ?`)
        .all(...args, lq.limit, lq.offset);
      return { items: rows.map(toFunction), total };
    },
    countFunctions: async (projectId) => count(q.countFunctions.get(projectId)),
    deleteFunction: async (id) => {
      changed();
      q.deleteFunction.run(id);
    },
    getVersion: async (functionId, version) =>
      cached(`v\0${functionId}\0${version}`, () => {
        const row = q.getVersion.get(functionId, version);
        return row ? parseData<FunctionVersion>(row) : undefined;
      }),
    listVersions: async (functionId) =>
      q.listVersions.all(functionId).map((r) => parseData<FunctionVersion>(r)),
    putVersion: async (v) => putVersion(v),
    deleteVersion: async (functionId, version) => deleteVersion(functionId, version),
    isDigestReferenced: async (digest) => q.digestRef.get(digest) !== undefined,
    totalCodeSize: async (projectId) => count(q.codeSize.get(projectId)),
    createAlias: async (a) => {
      changed();
      return q.insertAlias.run(a.functionId, a.name, a.version, JSON.stringify(a)).changes > 0;
    },
    putAlias: async (a) => {
      changed();
      q.updateAlias.run(a.version, JSON.stringify(a), a.functionId, a.name);
    },
    getAlias: async (functionId, name) =>
      cached(`a\0${functionId}\0${name}`, () => {
        const row = q.getAlias.get(functionId, name);
        return row ? parseData<FunctionAlias>(row) : undefined;
      }),
    listAliases: async (functionId) =>
      q.listAliases.all(functionId).map((r) => parseData<FunctionAlias>(r)),
    deleteAlias: async (functionId, name) => {
      changed();
      q.deleteAlias.run(functionId, name);
    },
    addInvocations: async (rs) => {
      const w = currentWorker();
      if (!w) return addInvocations(rs);
      try {
        await w.writeInvocations(rs);
      } catch (err) {
        onWorkerFailure(w, err);
        addInvocations(rs);
      }
    },
    addInvocation: async (r: InvocationRecord) => addInvocations([r]),
    getInvocation: async (requestId) => findInvocation(db, requestId),
    // The worker deletes in small batches, off the event loop.
    pruneInvocations: async (before) => {
      const w = currentWorker();
      if (w) {
        try {
          return await w.pruneInvocations(before);
        } catch (err) {
          onWorkerFailure(w, err);
        }
      }
      // Without a worker (an in-memory store, or the worker gone), here: function by function,
      // through invocations_function, as the worker does.
      let deleted = 0;
      for (const id of q.functionIds.all() as string[]) {
        deleted += q.pruneInvocations.run(id, before).changes;
        for (const r of q.pruneInvocationBatches.all(id, before) as { n: number }[]) deleted += r.n;
      }
      return deleted;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await worker?.close();
      db.close();
    },
  };
}

function migrate(db: Database.Database): void {
  db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
  );
  const applied = new Set(
    db
      .prepare("SELECT id FROM schema_migrations")
      .all()
      .map((r) => z.object({ id: z.string() }).parse(r).id),
  );
  const apply = db.transaction((m: Migration) => {
    db.exec(m.sql);
    db.prepare("INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)").run(
      m.id,
      new Date().toISOString(),
    );
  });
  for (const m of MIGRATIONS) if (!applied.has(m.id)) apply(m);
}
