import pg from "pg";
import { z } from "zod";
import {
  hasFunctionDestination,
  INSERT_COLUMNS,
  listWhere,
  toAsyncConfig,
  toAsyncInvocation,
  toInsertValues,
} from "../async-rows.js";
import type { AsyncFinish, AsyncStore, NewAsyncInvocation } from "../async-types.js";
import { transaction } from "./connect.js";

export interface PostgresAsyncStoreOptions {
  /** postgres://… connection string. */
  url: string;
  /** Schema holding the tables (created when missing); default `public`. */
  schema?: string;
  poolSize?: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS async_invocations (
    request_id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    function_id TEXT NOT NULL,
    func_urn TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    event TEXT NOT NULL,
    headers TEXT NOT NULL,
    memory_mb INTEGER,
    policy TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    not_before BIGINT NOT NULL,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0,
    started_at BIGINT,
    ended_at BIGINT,
    error_code INTEGER NOT NULL DEFAULT 0,
    error_message TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    destination_status TEXT NOT NULL DEFAULT '',
    cancel_requested BOOLEAN NOT NULL DEFAULT false
  );
  CREATE INDEX IF NOT EXISTS async_wait ON async_invocations (not_before) WHERE status = 'WAIT';
  CREATE INDEX IF NOT EXISTS async_running ON async_invocations (lease_until) WHERE status = 'RUNNING';
  CREATE INDEX IF NOT EXISTS async_function ON async_invocations (function_id, created_at);
  CREATE INDEX IF NOT EXISTS async_ended ON async_invocations (ended_at) WHERE ended_at IS NOT NULL;
  CREATE TABLE IF NOT EXISTS async_invoke_configs (
    function_id TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    project_id TEXT NOT NULL,
    has_fg_destination BOOLEAN NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (function_id, qualifier)
  );
`;

const ident = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The async queue on PostgreSQL, for a cluster of platforms sharing one database
 * (ARCHITECTURE §8): claims take due rows with `FOR UPDATE SKIP LOCKED`, so several dispatchers
 * never lease the same request, and RUNNING rows carry a lease that another node may take over
 * once it expires. Commits use PostgreSQL's default `synchronous_commit = on` (durable).
 * The full metadata Store on PostgreSQL does not exist yet; this part stands on its own.
 */
export async function createPostgresAsyncStore(
  opts: PostgresAsyncStoreOptions,
): Promise<AsyncStore> {
  const schema = opts.schema ?? "public";
  if (!ident.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 10,
    options: `-c search_path=${schema}`,
  });
  pool.on("error", () => undefined); // idle-client errors surface on the next query instead
  const client = await pool.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    // Serialise concurrent first starts of several nodes.
    await client.query("SELECT pg_advisory_lock(hashtext('fngraph-async-schema'))");
    try {
      await client.query(SCHEMA);
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext('fngraph-async-schema'))");
    }
  } finally {
    client.release();
  }

  const tx = <T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> => transaction(pool, fn);

  const insertSql = (n: number): string => {
    const w = INSERT_COLUMNS.length;
    const tuples = Array.from(
      { length: n },
      (_, i) => `(${INSERT_COLUMNS.map((_c, j) => `$${i * w + j + 1}`).join(", ")})`,
    );
    return `INSERT INTO async_invocations (${INSERT_COLUMNS.join(", ")}) VALUES ${tuples.join(", ")}`;
  };
  const insertRows = async (c: pg.Pool | pg.PoolClient, rows: NewAsyncInvocation[]) => {
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000);
      await c.query(insertSql(chunk.length), chunk.flatMap(toInsertValues));
    }
  };
  const count = (rows: unknown[]): number => z.object({ n: z.coerce.number() }).parse(rows[0]).n;

  let closed = false;
  return {
    kind: "postgres",
    enqueue: async (rows) => {
      if (rows.length === 0) return;
      if (rows.length <= 1000) await insertRows(pool, rows);
      else await tx((c) => insertRows(c, rows));
    },
    claim: async (owner, now, leaseMs, limit) => {
      const r = await pool.query(
        `WITH w AS (
           SELECT request_id FROM async_invocations WHERE status = 'WAIT' AND not_before <= $1
           ORDER BY not_before LIMIT $2 FOR UPDATE SKIP LOCKED
         ), r AS (
           SELECT request_id FROM async_invocations WHERE status = 'RUNNING' AND lease_until < $1
           ORDER BY lease_until LIMIT $2 FOR UPDATE SKIP LOCKED
         ), due AS (
           SELECT request_id FROM w UNION ALL SELECT request_id FROM r LIMIT $2
         )
         UPDATE async_invocations a SET status = 'RUNNING', lease_owner = $3, lease_until = $4,
           attempts = a.attempts + 1, started_at = coalesce(a.started_at, $1)
         FROM due WHERE a.request_id = due.request_id RETURNING a.*`,
        [now, limit, owner, now + leaseMs],
      );
      return r.rows.map(toAsyncInvocation);
    },
    renew: async (owner, ids, until) => {
      if (ids.length === 0) return [];
      const r = await pool.query(
        `UPDATE async_invocations SET lease_until = $1
         WHERE request_id = ANY($2) AND lease_owner = $3 AND status = 'RUNNING'
         RETURNING request_id, cancel_requested`,
        [until, ids, owner],
      );
      return (r.rows as { request_id: string; cancel_requested: boolean }[])
        .filter((x) => x.cancel_requested)
        .map((x) => x.request_id);
    },
    finish: async (f: AsyncFinish, now) =>
      tx(async (c) => {
        const r = await c.query(
          `UPDATE async_invocations SET status = $3, error_code = $4, error_message = $5,
             version = $6, not_before = coalesce($7, not_before), failures = failures + $8, attempts = attempts - $11,
             lease_owner = '', lease_until = 0,
             ended_at = CASE WHEN $3 IN ('SUCCESS', 'FAIL', 'DISCARD') THEN $9::bigint ELSE NULL END,
             destination_status = coalesce($10, destination_status)
           WHERE request_id = $1 AND lease_owner = $2 AND status = 'RUNNING'`,
          [
            f.requestId,
            f.owner,
            f.status,
            f.errorCode,
            f.errorMessage,
            f.version,
            f.notBefore ?? null,
            f.failed ? 1 : 0,
            now,
            f.destinationStatus ?? null,
            f.uncount ? 1 : 0,
          ],
        );
        if (r.rowCount === 0) return false;
        if (f.followUp) await insertRows(c, [f.followUp]);
        return true;
      }),
    requeueRunning: async (now, owner) => {
      const r =
        owner === undefined
          ? await pool.query(
              "UPDATE async_invocations SET status = 'WAIT', lease_owner = '', lease_until = 0, not_before = $1 WHERE status = 'RUNNING'",
              [now],
            )
          : await pool.query(
              "UPDATE async_invocations SET status = 'WAIT', lease_owner = '', lease_until = 0, not_before = $1 WHERE status = 'RUNNING' AND lease_owner = $2",
              [now, owner],
            );
      return r.rowCount ?? 0;
    },
    nextDue: async () => {
      const r = await pool.query(
        "SELECT min(not_before) AS t FROM async_invocations WHERE status = 'WAIT'",
      );
      const t = z.object({ t: z.coerce.number().nullable() }).parse(r.rows[0]).t;
      return t ?? undefined;
    },
    get: async (id) => {
      const r = await pool.query("SELECT * FROM async_invocations WHERE request_id = $1", [id]);
      return r.rows[0] ? toAsyncInvocation(r.rows[0]) : undefined;
    },
    list: async (lq) => {
      const { where, args } = listWhere(lq, (i) => `$${i}`);
      const total = count(
        (await pool.query(`SELECT count(*) AS n FROM async_invocations WHERE ${where}`, args)).rows,
      );
      const r = await pool.query(
        `SELECT * FROM async_invocations WHERE ${where} ORDER BY created_at DESC, request_id
         LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
        [...args, lq.limit, lq.offset],
      );
      return { items: r.rows.map(toAsyncInvocation), total };
    },
    pruneFinished: async (before) =>
      (
        await pool.query(
          "DELETE FROM async_invocations WHERE ended_at IS NOT NULL AND ended_at < $1",
          [before],
        )
      ).rowCount ?? 0,
    cancel: async (id, now, code, message) => {
      const w = await pool.query(
        `UPDATE async_invocations SET status = 'FAIL', error_code = $2, error_message = $3,
           ended_at = $4, cancel_requested = true WHERE request_id = $1 AND status = 'WAIT'`,
        [id, code, message, now],
      );
      if ((w.rowCount ?? 0) > 0) return "WAIT";
      const r = await pool.query(
        "UPDATE async_invocations SET cancel_requested = true WHERE request_id = $1 AND status = 'RUNNING'",
        [id],
      );
      if ((r.rowCount ?? 0) > 0) return "RUNNING";
      const row = await pool.query("SELECT * FROM async_invocations WHERE request_id = $1", [id]);
      return row.rows[0] ? toAsyncInvocation(row.rows[0]).status : undefined;
    },
    putConfig: async (c) => {
      await pool.query(
        `INSERT INTO async_invoke_configs (function_id, qualifier, project_id, has_fg_destination, data)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (function_id, qualifier) DO UPDATE SET
         has_fg_destination = excluded.has_fg_destination, data = excluded.data`,
        [c.functionId, c.qualifier, c.projectId, hasFunctionDestination(c), JSON.stringify(c)],
      );
    },
    getConfig: async (functionId, qualifier) => {
      const r = await pool.query(
        "SELECT data FROM async_invoke_configs WHERE function_id = $1 AND qualifier = $2",
        [functionId, qualifier],
      );
      return r.rows[0] ? toAsyncConfig(r.rows[0]) : undefined;
    },
    deleteConfig: async (functionId, qualifier) => {
      const r = await pool.query(
        "DELETE FROM async_invoke_configs WHERE function_id = $1 AND qualifier = $2",
        [functionId, qualifier],
      );
      return (r.rowCount ?? 0) > 0;
    },
    listConfigs: async (functionId, offset, limit) => {
      const r = await pool.query(
        "SELECT data FROM async_invoke_configs WHERE function_id = $1 ORDER BY qualifier LIMIT $2 OFFSET $3",
        [functionId, limit, offset],
      );
      const n = await pool.query(
        "SELECT count(*) AS n FROM async_invoke_configs WHERE function_id = $1",
        [functionId],
      );
      return { items: r.rows.map(toAsyncConfig), total: count(n.rows) };
    },
    listDestinationConfigs: async (projectId) => {
      const r = await pool.query(
        "SELECT data FROM async_invoke_configs WHERE project_id = $1 AND has_fg_destination",
        [projectId],
      );
      return r.rows.map(toAsyncConfig);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
