import { isPostgresUrl, parsePostgresUrl } from "./postgres/connect.js";
import { createPostgresReservedStore } from "./postgres/reserved-store.js";
import { createSqliteReservedStore } from "./sqlite/reserved-store.js";
import type { ReservedStore } from "./reserved-types.js";

export type * from "./reserved-types.js";

/**
 * Open the reserved-instance table for the `store` setting. The main store must be open first (it
 * applies the migrations: SQLite `0006-reserved-instances`, PostgreSQL `0004-reserved-instances`).
 */
export function openReservedStore(url: string): ReservedStore {
  if (url.startsWith("sqlite:")) return createSqliteReservedStore(url.slice("sqlite:".length));
  if (isPostgresUrl(url)) return createPostgresReservedStore(parsePostgresUrl(url));
  throw new Error(
    `unsupported store "${url}" for reserved instances: use sqlite:<file> or postgres://…`,
  );
}
