import Database from "better-sqlite3";
import { z } from "zod";
import type { ReservedConfig, ReservedStore } from "../reserved-types.js";

const row = z.object({
  function_id: z.string(),
  qualifier: z.string(),
  project_id: z.string(),
  data: z.string(),
  updated_at: z.number(),
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

/** Reserved instances on SQLite; its own connection to the main store's (migrated) file. */
export function createSqliteReservedStore(file: string): ReservedStore {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
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
      (projectId === undefined ? q.all.all() : q.byProject.all(projectId)).map(toConfig),
    close: async () => {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
