import type { ReservedStore } from "../reserved-types.js";
import { toReservedConfig } from "../rows.js";
import { openDatabase } from "./open.js";

/** Reserved instances on SQLite; its own connection to the main store's (migrated) file. */
export function createSqliteReservedStore(file: string): ReservedStore {
  const db = openDatabase(file);
  const q = {
    put: db.prepare(
      `INSERT INTO reserved_instances (function_id, qualifier, project_id, data, updated_at)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(function_id, qualifier) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
    ),
    delete: db.prepare("DELETE FROM reserved_instances WHERE function_id = ? AND qualifier = ?"),
    all: db.prepare("SELECT * FROM reserved_instances ORDER BY rowid"),
    byProject: db.prepare("SELECT * FROM reserved_instances WHERE project_id = ? ORDER BY rowid"),
  };
  let closed = false;
  return {
    put: async (c) => {
      const { qualifierType, count, idleMode, cronConfigs, metricConfigs } = c;
      q.put.run(
        c.functionId,
        c.qualifier,
        c.projectId,
        JSON.stringify({ qualifierType, count, idleMode, cronConfigs, metricConfigs }),
        c.updatedAt,
      );
    },
    delete: async (functionId, qualifier) => {
      q.delete.run(functionId, qualifier);
    },
    list: async (projectId) =>
      (projectId === undefined ? q.all.all() : q.byProject.all(projectId)).map(toReservedConfig),
    close: async () => {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
