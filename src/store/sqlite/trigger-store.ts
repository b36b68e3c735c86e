import { z } from "zod";
import type { TriggerRecord, TriggerStore } from "../trigger-types.js";
import { toTriggerRecord } from "../rows.js";
import { openDatabase } from "./open.js";

const toParams = (t: TriggerRecord) => ({
  id: t.id,
  projectId: t.projectId,
  functionId: t.functionId,
  qualifier: t.qualifier,
  funcUrn: t.funcUrn,
  type: t.type,
  status: t.status,
  eventData: JSON.stringify(t.eventData),
  internal: JSON.stringify(t.internal),
  createdAt: t.createdAt,
  updatedAt: t.updatedAt,
});

/** Triggers on SQLite; its own connection to the main store's (already migrated) file. */
export function createSqliteTriggerStore(file: string): TriggerStore {
  const db = openDatabase(file);

  const q = {
    insert: db.prepare(
      `INSERT INTO triggers (trigger_id, project_id, function_id, qualifier, func_urn, type, status, event_data, internal, created_at, updated_at)
       VALUES (@id, @projectId, @functionId, @qualifier, @funcUrn, @type, @status, @eventData, @internal, @createdAt, @updatedAt)`,
    ),
    update: db.prepare(
      `UPDATE triggers SET status = @status, event_data = @eventData, internal = @internal, updated_at = @updatedAt
       WHERE trigger_id = @id`,
    ),
    get: db.prepare("SELECT * FROM triggers WHERE trigger_id = ?"),
    byFunction: db.prepare(
      "SELECT * FROM triggers WHERE function_id = ? ORDER BY created_at, rowid",
    ),
    byQualifier: db.prepare(
      "SELECT * FROM triggers WHERE function_id = ? AND qualifier = ? ORDER BY created_at, rowid",
    ),
    all: db.prepare("SELECT * FROM triggers ORDER BY created_at, rowid"),
    delete: db.prepare("DELETE FROM triggers WHERE trigger_id = ?"),
    lastFired: db.prepare("SELECT last_fired FROM trigger_timer_state WHERE trigger_id = ?"),
    claim: db.prepare(
      `INSERT INTO trigger_timer_state (trigger_id, last_fired) VALUES (?, ?)
       ON CONFLICT(trigger_id) DO UPDATE SET last_fired = excluded.last_fired
       WHERE trigger_timer_state.last_fired < excluded.last_fired`,
    ),
    setLastFired: db.prepare(
      `INSERT INTO trigger_timer_state (trigger_id, last_fired) VALUES (?, ?)
       ON CONFLICT(trigger_id) DO UPDATE SET last_fired = excluded.last_fired`,
    ),
  };

  const create = db.transaction(
    (t: TriggerRecord, conflict?: (existing: TriggerRecord[]) => boolean): boolean => {
      if (conflict && conflict(q.all.all().map(toTriggerRecord))) return false;
      q.insert.run(toParams(t));
      return true;
    },
  );

  let closed = false;
  return {
    create: async (t, conflict) => create(t, conflict),
    put: async (t) => {
      q.update.run(toParams(t));
    },
    get: async (id) => {
      const r = q.get.get(id);
      return r === undefined ? undefined : toTriggerRecord(r);
    },
    listByFunction: async (functionId, qualifier) =>
      (qualifier === undefined
        ? q.byFunction.all(functionId)
        : q.byQualifier.all(functionId, qualifier)
      ).map(toTriggerRecord),
    listAll: async (types) => {
      const all = q.all.all().map(toTriggerRecord);
      return types ? all.filter((t) => types.includes(t.type)) : all;
    },
    delete: async (id) => q.delete.run(id).changes > 0,
    lastFired: async (id) => {
      const r = q.lastFired.get(id);
      return r === undefined ? undefined : z.object({ last_fired: z.number() }).parse(r).last_fired;
    },
    claimFire: async (id, at) => q.claim.run(id, at).changes > 0,
    setLastFired: async (id, at) => {
      q.setLastFired.run(id, at);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
