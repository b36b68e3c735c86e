import type pg from "pg";
import { z } from "zod";
import type {
  FunctionAlias,
  FunctionVersion,
  Identity,
  InvocationRecord,
} from "../../core/types.js";
import { parseData, toFunction } from "../rows.js";
import type { ListFunctionsQuery, Store } from "../types.js";
import { createPool, migrate, transaction, type PostgresTarget } from "./connect.js";

/** count(*) and sum() arrive as strings (bigint, numeric). */
const count = (rows: unknown[]): number => z.object({ n: z.coerce.number() }).parse(rows[0]).n;

export interface PostgresStoreOptions extends PostgresTarget {
  poolSize?: number;
}

const INSERT_INVOCATION = `INSERT INTO invocations (request_id, function_id, created_at, data) VALUES ($1, $2, $3, $4)
  ON CONFLICT (request_id) DO UPDATE SET function_id = excluded.function_id,
    created_at = excluded.created_at, data = excluded.data`;

const invocationParams = (r: InvocationRecord): unknown[] => [
  r.requestId,
  r.functionId,
  String(r.startedAt),
  JSON.stringify(r),
];

/**
 * The metadata Store on PostgreSQL (ARCHITECTURE §8), for platforms sharing one database. Same
 * semantics as the SQLite store method for method: what SQLite does in one transaction runs in
 * one transaction on one pooled client here. Applies the migrations before it returns.
 */
export async function createPostgresStore(opts: PostgresStoreOptions): Promise<Store> {
  const pool = createPool(opts, opts.poolSize ?? 10);
  try {
    await migrate(pool, opts.schema);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }

  const one = async (sql: string, args: unknown[]): Promise<unknown> =>
    (await pool.query(sql, args)).rows[0];

  const putVersion = async (c: pg.Pool | pg.PoolClient, v: FunctionVersion): Promise<void> => {
    await c.query(
      `INSERT INTO versions (function_id, version, digest, code_size, data) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (function_id, version) DO UPDATE SET digest = excluded.digest, code_size = excluded.code_size, data = excluded.data`,
      [v.functionId, v.version, v.codeDigest, v.codeSize, JSON.stringify(v)],
    );
  };

  let closed = false;
  return {
    kind: "postgres",
    loadIdentity: async () => {
      const row = await one("SELECT data FROM identity WHERE id = 1", []);
      return row ? parseData<Identity>(row) : undefined;
    },
    saveIdentity: async (identity) => {
      await pool.query(
        "INSERT INTO identity (id, data) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
        [JSON.stringify(identity)],
      );
    },
    createFunction: async (fn, latest) =>
      transaction(pool, async (c) => {
        const res = await c.query(
          `INSERT INTO functions (id, project_id, package, name, runtime, created_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
          [fn.id, fn.projectId, fn.package, fn.name, fn.runtime, fn.createdAt],
        );
        if (res.rowCount === 0) return false;
        await putVersion(c, latest);
        return true;
      }),
    getFunction: async (projectId, pkg, name) => {
      const row = await one(
        "SELECT * FROM functions WHERE project_id = $1 AND package = $2 AND name = $3",
        [projectId, pkg, name],
      );
      return row ? toFunction(row) : undefined;
    },
    getFunctionById: async (id) => {
      const row = await one("SELECT * FROM functions WHERE id = $1", [id]);
      return row ? toFunction(row) : undefined;
    },
    listFunctions: async (lq: ListFunctionsQuery) => {
      const where = ["project_id = $1"];
      const args: unknown[] = [lq.projectId];
      if (lq.package) {
        args.push(lq.package);
        where.push(`package = $${args.length}`);
      }
      if (lq.name) {
        args.push(lq.name);
        where.push(`strpos(name, $${args.length}) > 0`);
      }
      const w = where.join(" AND ");
      const total = count(
        (await pool.query(`SELECT count(*) AS n FROM functions WHERE ${w}`, args)).rows,
      );
      const rows = await pool.query(
        `SELECT * FROM functions WHERE ${w} ORDER BY created_at, name
         LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
        [...args, lq.limit, lq.offset],
      );
      return { items: rows.rows.map(toFunction), total };
    },
    countFunctions: async (projectId) =>
      count(
        (await pool.query("SELECT count(*) AS n FROM functions WHERE project_id = $1", [projectId]))
          .rows,
      ),
    deleteFunction: async (id) =>
      transaction(pool, async (c) => {
        // On SQLite the async queue's rows cascade with the function; here the queue owns its
        // tables (created on its first open, without a foreign key), so they go explicitly.
        const t = await c.query<{ inv: string | null; cfg: string | null }>(
          "SELECT to_regclass('async_invocations')::text AS inv, to_regclass('async_invoke_configs')::text AS cfg",
        );
        if (t.rows[0]?.inv)
          await c.query("DELETE FROM async_invocations WHERE function_id = $1", [id]);
        if (t.rows[0]?.cfg)
          await c.query("DELETE FROM async_invoke_configs WHERE function_id = $1", [id]);
        await c.query("DELETE FROM functions WHERE id = $1", [id]);
      }),
    getVersion: async (functionId, version) => {
      const row = await one("SELECT data FROM versions WHERE function_id = $1 AND version = $2", [
        functionId,
        version,
      ]);
      return row ? parseData<FunctionVersion>(row) : undefined;
    },
    listVersions: async (functionId) =>
      (
        await pool.query("SELECT data FROM versions WHERE function_id = $1 ORDER BY created_seq", [
          functionId,
        ])
      ).rows.map((r) => parseData<FunctionVersion>(r)),
    putVersion: async (v) => putVersion(pool, v),
    deleteVersion: async (functionId, version) =>
      transaction(pool, async (c) => {
        await c.query("DELETE FROM aliases WHERE function_id = $1 AND version = $2", [
          functionId,
          version,
        ]);
        await c.query("DELETE FROM versions WHERE function_id = $1 AND version = $2", [
          functionId,
          version,
        ]);
      }),
    isDigestReferenced: async (digest) =>
      (await one("SELECT 1 FROM versions WHERE digest = $1 LIMIT 1", [digest])) !== undefined,
    totalCodeSize: async (projectId) =>
      count(
        (
          await pool.query(
            "SELECT coalesce(sum(v.code_size), 0) AS n FROM versions v JOIN functions f ON f.id = v.function_id WHERE f.project_id = $1",
            [projectId],
          )
        ).rows,
      ),
    createAlias: async (a) =>
      ((
        await pool.query(
          "INSERT INTO aliases (function_id, name, version, data) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
          [a.functionId, a.name, a.version, JSON.stringify(a)],
        )
      ).rowCount ?? 0) > 0,
    putAlias: async (a) => {
      await pool.query(
        "UPDATE aliases SET version = $1, data = $2 WHERE function_id = $3 AND name = $4",
        [a.version, JSON.stringify(a), a.functionId, a.name],
      );
    },
    getAlias: async (functionId, name) => {
      const row = await one("SELECT data FROM aliases WHERE function_id = $1 AND name = $2", [
        functionId,
        name,
      ]);
      return row ? parseData<FunctionAlias>(row) : undefined;
    },
    listAliases: async (functionId) =>
      (
        await pool.query("SELECT data FROM aliases WHERE function_id = $1 ORDER BY created_seq", [
          functionId,
        ])
      ).rows.map((r) => parseData<FunctionAlias>(r)),
    deleteAlias: async (functionId, name) => {
      await pool.query("DELETE FROM aliases WHERE function_id = $1 AND name = $2", [
        functionId,
        name,
      ]);
    },
    addInvocation: async (r: InvocationRecord) => {
      await pool.query(INSERT_INVOCATION, invocationParams(r));
    },
    addInvocations: async (rs) => {
      if (rs.length === 0) return;
      await transaction(pool, async (c) => {
        for (const r of rs) await c.query(INSERT_INVOCATION, invocationParams(r));
      });
    },
    getInvocation: async (requestId) => {
      const row = await one("SELECT data FROM invocations WHERE request_id = $1", [requestId]);
      return row ? parseData<InvocationRecord>(row) : undefined;
    },
    pruneInvocations: async (before) =>
      (await pool.query("DELETE FROM invocations WHERE created_at < $1", [before])).rowCount ?? 0,
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
