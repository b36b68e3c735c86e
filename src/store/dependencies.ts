import { createSqliteDependencyStore } from "./sqlite/dependency-store.js";
import type { DependencyStore } from "./dependency-types.js";

export type * from "./dependency-types.js";

/**
 * Open the dependency store for the `store` setting. On SQLite the main store must be open (it
 * applies the migrations). PostgreSQL follows when the main store supports it.
 */
export function openDependencyStore(url: string): DependencyStore {
  if (url.startsWith("sqlite:")) return createSqliteDependencyStore(url.slice("sqlite:".length));
  throw new Error(`unsupported store "${url}" for dependencies: use sqlite:<file>`);
}
