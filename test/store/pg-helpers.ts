import { randomUUID } from "node:crypto";
import pg from "pg";

/** The PostgreSQL the tests use (trust auth on this machine). */
export const PG_URL = process.env["FNGRAPH_TEST_PG"] ?? "postgres://postgres@127.0.0.1:5432/test";

/** Whether PostgreSQL answers; files that need it skip when it does not. */
export async function postgresReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  c.on("error", () => undefined);
  try {
    await c.connect();
    await c.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** A schema name no other run uses. */
export const uniqueSchema = (prefix: string): string =>
  `${prefix}_${randomUUID().replace(/-/g, "").slice(0, 16)}`;

/** `PG_URL` with `?schema=`. */
export const schemaUrl = (schema: string): string => {
  const u = new URL(PG_URL);
  u.searchParams.set("schema", schema);
  return u.toString();
};

export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}
