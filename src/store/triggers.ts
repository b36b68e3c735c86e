import { isPostgresUrl, parsePostgresUrl } from "./postgres/connect.js";
import { createPostgresTriggerStore } from "./postgres/trigger-store.js";
import { createSqliteTriggerStore } from "./sqlite/trigger-store.js";
import type { TriggerStore } from "./trigger-types.js";

export type * from "./trigger-types.js";

/**
 * Open the trigger tables for the `store` setting. The main store must be open first (it applies
 * the migrations: SQLite `0004-triggers`, PostgreSQL `0002-triggers`).
 */
export function openTriggerStore(url: string): TriggerStore {
  if (url.startsWith("sqlite:")) return createSqliteTriggerStore(url.slice("sqlite:".length));
  if (isPostgresUrl(url)) return createPostgresTriggerStore(parsePostgresUrl(url));
  throw new Error(`unsupported store "${url}" for triggers: use sqlite:<file> or postgres://…`);
}
