import { createSqliteTriggerStore } from "./sqlite/trigger-store.js";
import type { TriggerStore } from "./trigger-types.js";

export type * from "./trigger-types.js";

/**
 * Open the trigger tables for the `store` setting. On SQLite the main store must be open first
 * (it applies the migrations, `0004-triggers`). PostgreSQL comes with the cluster work.
 */
export function openTriggerStore(url: string): TriggerStore {
  if (url.startsWith("sqlite:")) return createSqliteTriggerStore(url.slice("sqlite:".length));
  throw new Error(`unsupported store "${url}" for triggers: use sqlite:<file>`);
}
