import type { ReservedStore } from "../reserved-types.js";
import { toReservedConfig } from "../rows.js";
import { createPool, type PostgresTarget } from "./connect.js";

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
      ).rows.map(toReservedConfig),
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
