import { z } from "zod";
import type { ReservedConfig, ReservedStore } from "../reserved-types.js";
import { createPool, type PostgresTarget } from "./connect.js";

const row = z.object({
  function_id: z.string(),
  qualifier: z.string(),
  project_id: z.string(),
  data: z.string(),
  updated_at: z.coerce.number(),
});

const data = z.object({
  qualifierType: z.enum(["version", "alias"]),
  count: z.number().int(),
  idleMode: z.boolean(),
  cronConfigs: z.array(
    z.object({
      name: z.string(),
      cron: z.string(),
      count: z.number().int(),
      startTime: z.number(),
      expiredTime: z.number(),
    }),
  ),
  metricConfigs: z.array(
    z.object({ name: z.string(), type: z.string(), threshold: z.number(), min: z.number() }),
  ),
});

const toConfig = (r: unknown): ReservedConfig => {
  const p = row.parse(r);
  return {
    projectId: p.project_id,
    functionId: p.function_id,
    qualifier: p.qualifier,
    ...data.parse(JSON.parse(p.data)),
    updatedAt: p.updated_at,
  };
};

/**
 * Reserved instances on PostgreSQL, on their own pool to the main store's (migrated) schema.
 * Rows keep their first insertion's place (`seq`, SQLite: rowid) when replaced.
 */
export function createPostgresReservedStore(target: PostgresTarget, poolSize = 2): ReservedStore {
  const pool = createPool(target, poolSize);
  let closed = false;
  return {
    put: async (c) => {
      const { qualifierType, count, idleMode, cronConfigs, metricConfigs } = c;
      await pool.query(
        `INSERT INTO reserved_instances (function_id, qualifier, project_id, data, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (function_id, qualifier) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
        [
          c.functionId,
          c.qualifier,
          c.projectId,
          JSON.stringify({ qualifierType, count, idleMode, cronConfigs, metricConfigs }),
          c.updatedAt,
        ],
      );
    },
    delete: async (functionId, qualifier) => {
      await pool.query("DELETE FROM reserved_instances WHERE function_id = $1 AND qualifier = $2", [
        functionId,
        qualifier,
      ]);
    },
    list: async (projectId) =>
      (projectId === undefined
        ? await pool.query("SELECT * FROM reserved_instances ORDER BY seq")
        : await pool.query("SELECT * FROM reserved_instances WHERE project_id = $1 ORDER BY seq", [
            projectId,
          ])
      ).rows.map(toConfig),
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
