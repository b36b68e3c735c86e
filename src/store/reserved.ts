import { createSqliteReservedStore } from "./sqlite/reserved-store.js";
import type { ReservedStore } from "./reserved-types.js";

export type * from "./reserved-types.js";

/**
 * Open the reserved-instance table for the `store` setting. On SQLite the main store must be open
 * first (it applies the migrations, `0006-reserved-instances`). PostgreSQL comes with the cluster
 * work.
 */
export function openReservedStore(url: string): ReservedStore {
  if (url.startsWith("sqlite:")) return createSqliteReservedStore(url.slice("sqlite:".length));
  throw new Error(`unsupported store "${url}" for reserved instances: use sqlite:<file>`);
}
