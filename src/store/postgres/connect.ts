import pg from "pg";
import { MIGRATIONS } from "./migrations.js";

/** Where a `postgres://…?schema=<name>` store setting points. */
export interface PostgresTarget {
  /** The connection string without `schema`. */
  url: string;
  /** Schema holding the tables; `public` when not given. */
  schema: string;
}

const ident = /^[a-z_][a-z0-9_]{0,62}$/;

/** Whether the store setting names PostgreSQL. */
export const isPostgresUrl = (url: string): boolean =>
  url.startsWith("postgres://") || url.startsWith("postgresql://");

/** Split `?schema=` off a store URL (the async queue reads the same parameter). */
export function parsePostgresUrl(url: string): PostgresTarget {
  const u = new URL(url);
  const schema = u.searchParams.get("schema") ?? "public";
  u.searchParams.delete("schema");
  if (!ident.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  return { url: u.toString(), schema };
}

/**
 * A pool whose connections see `schema` first. Nothing connects until the first query, so the
 * trigger and dependency stores can be opened synchronously once the main store has migrated.
 */
export function createPool(target: PostgresTarget, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: target.url,
    max,
    options: `-c search_path=${target.schema}`,
  });
  pool.on("error", () => undefined); // idle-client errors surface on the next query instead
  return pool;
}

/** Run `fn` in one transaction on one pooled client; rolled back when it throws. */
export async function transaction<T>(
  pool: pg.Pool,
  fn: (c: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query("BEGIN");
    const out = await fn(c);
    await c.query("COMMIT");
    return out;
  } catch (err) {
    await c.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/**
 * Create the schema and apply the migrations not yet recorded in `schema_migrations`, each in its
 * own transaction. An advisory lock serialises nodes of a cluster starting at the same time.
 */
export async function migrate(pool: pg.Pool, schema: string): Promise<void> {
  const c = await pool.connect();
  const key = `fngraph-store-schema:${schema}`;
  try {
    await c.query("SELECT pg_advisory_lock(hashtext($1))", [key]);
    try {
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await c.query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
      );
      const applied = new Set(
        (await c.query<{ id: string }>("SELECT id FROM schema_migrations")).rows.map((r) => r.id),
      );
      for (const m of MIGRATIONS) {
        if (applied.has(m.id)) continue;
        await c.query("BEGIN");
        try {
          await c.query(m.sql);
          await c.query("INSERT INTO schema_migrations (id, applied_at) VALUES ($1, $2)", [
            m.id,
            new Date().toISOString(),
          ]);
          await c.query("COMMIT");
        } catch (err) {
          await c.query("ROLLBACK").catch(() => undefined);
          throw err;
        }
      }
    } finally {
      await c.query("SELECT pg_advisory_unlock(hashtext($1))", [key]);
    }
  } finally {
    c.release();
  }
}
