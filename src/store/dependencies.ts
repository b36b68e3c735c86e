import { isPostgresUrl, parsePostgresUrl } from "./postgres/connect.js";
import { createPostgresDependencyStore } from "./postgres/dependency-store.js";
import { createSqliteDependencyStore } from "./sqlite/dependency-store.js";
import type { DependencyStore } from "./dependency-types.js";

export type * from "./dependency-types.js";

/**
 * Open the dependency store for the `store` setting. The main store must be open first (it
 * applies the migrations).
 */
export function openDependencyStore(url: string): DependencyStore {
  if (url.startsWith("sqlite:")) return createSqliteDependencyStore(url.slice("sqlite:".length));
  if (isPostgresUrl(url)) return createPostgresDependencyStore(parsePostgresUrl(url));
  throw new Error(`unsupported store "${url}" for dependencies: use sqlite:<file> or postgres://…`);
}
