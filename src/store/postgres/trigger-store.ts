import { z } from "zod";
import type { TriggerStore } from "../trigger-types.js";
import { toTriggerRecord } from "../rows.js";
import { createPool, transaction, type PostgresTarget } from "./connect.js";

const COLUMNS =
  "trigger_id, project_id, function_id, qualifier, func_urn, type, status, event_data, internal, created_at, updated_at";

/**
 * Triggers on PostgreSQL, on their own pool to the main store's (already migrated) schema.
 * Creation order is the `seq` column (SQLite: created_at, rowid).
 */
export function createPostgresTriggerStore(target: PostgresTarget, poolSize = 4): TriggerStore {
  const pool = createPool(target, poolSize);

  let closed = false;
  return {
    create: async (t, conflict) =>
      transaction(pool, async (c) => {
        if (conflict) {
          // Concurrent creates (other nodes too) wait here, so the check sees every trigger
          // committed before this one's insert, as SQLite's single writer guarantees.
          await c.query("LOCK TABLE triggers IN SHARE ROW EXCLUSIVE MODE");
          const all = await c.query(`SELECT * FROM triggers ORDER BY created_at, seq`);
          if (conflict(all.rows.map(toTriggerRecord))) return false;
        }
        await c.query(
          `INSERT INTO triggers (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            t.id,
            t.projectId,
            t.functionId,
            t.qualifier,
            t.funcUrn,
            t.type,
            t.status,
            JSON.stringify(t.eventData),
            JSON.stringify(t.internal),
            t.createdAt,
            t.updatedAt,
          ],
        );
        return true;
      }),
    put: async (t) => {
      await pool.query(
        `UPDATE triggers SET status = $2, event_data = $3, internal = $4, updated_at = $5
         WHERE trigger_id = $1`,
        [t.id, t.status, JSON.stringify(t.eventData), JSON.stringify(t.internal), t.updatedAt],
      );
    },
    get: async (id) => {
      const r = await pool.query("SELECT * FROM triggers WHERE trigger_id = $1", [id]);
      return r.rows[0] === undefined ? undefined : toTriggerRecord(r.rows[0]);
    },
    listByFunction: async (functionId, qualifier) =>
      (qualifier === undefined
        ? await pool.query(
            "SELECT * FROM triggers WHERE function_id = $1 ORDER BY created_at, seq",
            [functionId],
          )
        : await pool.query(
            "SELECT * FROM triggers WHERE function_id = $1 AND qualifier = $2 ORDER BY created_at, seq",
            [functionId, qualifier],
          )
      ).rows.map(toTriggerRecord),
    listAll: async (types) => {
      const all = (await pool.query("SELECT * FROM triggers ORDER BY created_at, seq")).rows.map(
        toTriggerRecord,
      );
      return types ? all.filter((t) => types.includes(t.type)) : all;
    },
    delete: async (id) =>
      ((await pool.query("DELETE FROM triggers WHERE trigger_id = $1", [id])).rowCount ?? 0) > 0,
    lastFired: async (id) => {
      const r = await pool.query(
        "SELECT last_fired FROM trigger_timer_state WHERE trigger_id = $1",
        [id],
      );
      return r.rows[0] === undefined
        ? undefined
        : z.object({ last_fired: z.coerce.number() }).parse(r.rows[0]).last_fired;
    },
    claimFire: async (id, at) =>
      ((
        await pool.query(
          `INSERT INTO trigger_timer_state (trigger_id, last_fired) VALUES ($1, $2)
           ON CONFLICT (trigger_id) DO UPDATE SET last_fired = excluded.last_fired
           WHERE trigger_timer_state.last_fired < excluded.last_fired`,
          [id, at],
        )
      ).rowCount ?? 0) > 0,
    setLastFired: async (id, at) => {
      await pool.query(
        `INSERT INTO trigger_timer_state (trigger_id, last_fired) VALUES ($1, $2)
         ON CONFLICT (trigger_id) DO UPDATE SET last_fired = excluded.last_fired`,
        [id, at],
      );
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
