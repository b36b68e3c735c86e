import type Database from "better-sqlite3";
import { z } from "zod";
import {
  hasFunctionDestination,
  INSERT_COLUMNS,
  listWhere,
  toAsyncConfig,
  toAsyncInvocation,
  toInsertValues,
} from "../async-rows.js";
import type {
  AsyncInvocation,
  AsyncListQuery,
  AsyncStore,
  NewAsyncInvocation,
} from "../async-types.js";
import { openDatabase } from "./open.js";

/** Finished requests deleted per statement when old ones are pruned. */
const PRUNE_BATCH = 500;

/**
 * The async queue on SQLite. The main store must have opened (and migrated) the file first.
 *
 * Two connections to the same WAL database: accepted requests are committed on one with
 * `synchronous = FULL` (the WAL is fsynced before the 202 leaves), everything else on one with
 * `NORMAL`. Losing a claim or a status change in a power cut only makes an attempt run again,
 * which at-least-once allows; losing an accepted request would not be allowed.
 */
export function createSqliteAsyncStore(file: string): AsyncStore {
  if (file === ":memory:") throw new Error("the async queue needs a database file, not :memory:");
  const open = (sync: "FULL" | "NORMAL"): Database.Database => {
    // Deleting a function cascades to its requests (the main store's connection enforces
    // that); here a destination notification for a function deleted meanwhile must not abort
    // the transaction that records its parent's outcome: it fails at dispatch instead.
    return openDatabase(file, { synchronous: sync, foreignKeys: false });
  };
  const durable = open("FULL");
  const db = open("NORMAL");

  const insert = durable.prepare(
    `INSERT INTO async_invocations (${INSERT_COLUMNS.join(", ")}) VALUES (${INSERT_COLUMNS.map(() => "?").join(", ")})`,
  );
  const insertOnDb = db.prepare(
    `INSERT INTO async_invocations (${INSERT_COLUMNS.join(", ")}) VALUES (${INSERT_COLUMNS.map(() => "?").join(", ")})`,
  );
  const enqueueTx = durable.transaction((rows: NewAsyncInvocation[]) => {
    for (const r of rows) insert.run(...toInsertValues(r));
  });

  const q = {
    dueWait: db.prepare(
      "SELECT request_id FROM async_invocations WHERE status = 'WAIT' AND not_before <= ? ORDER BY not_before LIMIT ?",
    ),
    dueExpired: db.prepare(
      "SELECT request_id FROM async_invocations WHERE status = 'RUNNING' AND lease_until < ? ORDER BY lease_until LIMIT ?",
    ),
    take: db.prepare(
      `UPDATE async_invocations SET status = 'RUNNING', lease_owner = ?, lease_until = ?,
         attempts = attempts + 1, started_at = coalesce(started_at, ?)
       WHERE request_id = ? RETURNING *`,
    ),
    renew: db.prepare(
      "UPDATE async_invocations SET lease_until = ? WHERE request_id = ? AND lease_owner = ? AND status = 'RUNNING' RETURNING cancel_requested",
    ),
    finish: db.prepare(
      `UPDATE async_invocations SET status = @status, error_code = @errorCode, error_message = @errorMessage,
         version = @version, not_before = coalesce(@notBefore, not_before),
         failures = failures + @failed, attempts = attempts - @uncount, lease_owner = '', lease_until = 0,
         ended_at = CASE WHEN @status IN ('SUCCESS', 'FAIL', 'DISCARD') THEN @now ELSE NULL END,
         destination_status = coalesce(@destinationStatus, destination_status)
       WHERE request_id = @requestId AND lease_owner = @owner AND status = 'RUNNING'`,
    ),
    requeueAll: db.prepare(
      "UPDATE async_invocations SET status = 'WAIT', lease_owner = '', lease_until = 0, not_before = ? WHERE status = 'RUNNING'",
    ),
    requeueOwner: db.prepare(
      "UPDATE async_invocations SET status = 'WAIT', lease_owner = '', lease_until = 0, not_before = ? WHERE status = 'RUNNING' AND lease_owner = ?",
    ),
    nextDue: db.prepare("SELECT min(not_before) AS t FROM async_invocations WHERE status = 'WAIT'"),
    get: db.prepare("SELECT * FROM async_invocations WHERE request_id = ?"),
    pruneFinished: db.prepare(
      `DELETE FROM async_invocations WHERE rowid IN (SELECT rowid FROM async_invocations
         WHERE ended_at IS NOT NULL AND ended_at < ? LIMIT ${PRUNE_BATCH})`,
    ),
    cancelWait: db.prepare(
      `UPDATE async_invocations SET status = 'FAIL', error_code = ?, error_message = ?, ended_at = ?,
         cancel_requested = 1 WHERE request_id = ? AND status = 'WAIT'`,
    ),
    cancelRunning: db.prepare(
      "UPDATE async_invocations SET cancel_requested = 1 WHERE request_id = ? AND status = 'RUNNING'",
    ),
    putConfig: db.prepare(
      `INSERT INTO async_invoke_configs (function_id, qualifier, project_id, has_fg_destination, data)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT (function_id, qualifier) DO UPDATE SET
       has_fg_destination = excluded.has_fg_destination, data = excluded.data`,
    ),
    getConfig: db.prepare(
      "SELECT data FROM async_invoke_configs WHERE function_id = ? AND qualifier = ?",
    ),
    deleteConfig: db.prepare(
      "DELETE FROM async_invoke_configs WHERE function_id = ? AND qualifier = ?",
    ),
    listConfigs: db.prepare(
      "SELECT data FROM async_invoke_configs WHERE function_id = ? ORDER BY qualifier LIMIT ? OFFSET ?",
    ),
    countConfigs: db.prepare(
      "SELECT count(*) AS n FROM async_invoke_configs WHERE function_id = ?",
    ),
    destConfigs: db.prepare(
      "SELECT data FROM async_invoke_configs WHERE project_id = ? AND has_fg_destination = 1",
    ),
  };
  const idOf = (row: unknown): string => z.object({ request_id: z.string() }).parse(row).request_id;
  const count = (row: unknown): number => z.object({ n: z.number() }).parse(row).n;

  const claimTx = db.transaction(
    (owner: string, now: number, leaseMs: number, limit: number): AsyncInvocation[] => {
      const ids = q.dueWait.all(now, limit).map(idOf);
      if (ids.length < limit) ids.push(...q.dueExpired.all(now, limit - ids.length).map(idOf));
      return ids.map((id) => toAsyncInvocation(q.take.get(owner, now + leaseMs, now, id)));
    },
  );
  const renewTx = db.transaction((owner: string, ids: string[], until: number): string[] => {
    const canceled: string[] = [];
    for (const id of ids) {
      const row = q.renew.get(until, id, owner) as { cancel_requested: number } | undefined;
      if (row?.cancel_requested) canceled.push(id);
    }
    return canceled;
  });
  const finishTx = db.transaction((f: Parameters<AsyncStore["finish"]>[0], now: number) => {
    const res = q.finish.run({
      requestId: f.requestId,
      owner: f.owner,
      status: f.status,
      errorCode: f.errorCode,
      errorMessage: f.errorMessage,
      version: f.version,
      notBefore: f.notBefore ?? null,
      failed: f.failed ? 1 : 0,
      uncount: f.uncount ? 1 : 0,
      now,
      destinationStatus: f.destinationStatus ?? null,
    });
    if (res.changes === 0) return false;
    if (f.followUp) insertOnDb.run(...toInsertValues(f.followUp));
    return true;
  });

  let closed = false;
  return {
    kind: "sqlite",
    enqueue: async (rows) => {
      if (rows.length > 0) enqueueTx(rows);
    },
    claim: async (owner, now, leaseMs, limit) => claimTx(owner, now, leaseMs, limit),
    renew: async (owner, ids, until) => renewTx(owner, ids, until),
    finish: async (f, now) => finishTx(f, now),
    requeueRunning: async (now, owner) =>
      (owner === undefined ? q.requeueAll.run(now) : q.requeueOwner.run(now, owner)).changes,
    nextDue: async () => {
      const t = z.object({ t: z.number().nullable() }).parse(q.nextDue.get()).t;
      return t ?? undefined;
    },
    get: async (id) => {
      const row = q.get.get(id);
      return row ? toAsyncInvocation(row) : undefined;
    },
    // A few hundred rows (events included) per turn of the event loop: calls go on meanwhile.
    pruneFinished: async (before) => {
      let deleted = 0;
      for (;;) {
        const n = q.pruneFinished.run(before).changes;
        deleted += n;
        if (n < PRUNE_BATCH) return deleted;
        await new Promise((r) => setImmediate(r));
      }
    },
    list: async (lq: AsyncListQuery) => {
      const { where, args } = listWhere(lq);
      const total = count(
        db.prepare(`SELECT count(*) AS n FROM async_invocations WHERE ${where}`).get(...args),
      );
      const rows = db
        .prepare(
          `SELECT * FROM async_invocations WHERE ${where} ORDER BY created_at DESC, request_id LIMIT ? OFFSET ?`,
        )
        .all(...args, lq.limit, lq.offset);
      return { items: rows.map(toAsyncInvocation), total };
    },
    cancel: async (id, now, code, message) => {
      if (q.cancelWait.run(code, message, now, id).changes > 0) return "WAIT";
      if (q.cancelRunning.run(id).changes > 0) return "RUNNING";
      const row = q.get.get(id);
      return row ? toAsyncInvocation(row).status : undefined;
    },
    putConfig: async (c) => {
      q.putConfig.run(
        c.functionId,
        c.qualifier,
        c.projectId,
        hasFunctionDestination(c) ? 1 : 0,
        JSON.stringify(c),
      );
    },
    getConfig: async (functionId, qualifier) => {
      const row = q.getConfig.get(functionId, qualifier);
      return row ? toAsyncConfig(row) : undefined;
    },
    deleteConfig: async (functionId, qualifier) =>
      q.deleteConfig.run(functionId, qualifier).changes > 0,
    listConfigs: async (functionId, offset, limit) => ({
      items: q.listConfigs.all(functionId, limit, offset).map(toAsyncConfig),
      total: count(q.countConfigs.get(functionId)),
    }),
    listDestinationConfigs: async (projectId) => q.destConfigs.all(projectId).map(toAsyncConfig),
    close: async () => {
      if (closed) return;
      closed = true;
      durable.close();
      db.close();
    },
  };
}
