import { mkdirSync } from "node:fs";
import path from "node:path";
import { createSqliteStore } from "./sqlite/sqlite-store.js";
import type { Store } from "./types.js";

export type { Store, ListFunctionsQuery } from "./types.js";

/** Open the store named by the `store` setting (`sqlite:<file>`; PostgreSQL comes with the cluster work). */
export function openStore(url: string): Store {
  if (url.startsWith("sqlite:")) {
    const file = url.slice("sqlite:".length);
    if (file !== ":memory:") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    return createSqliteStore(file);
  }
  throw new Error(
    `unsupported store "${url}": use sqlite:<file> (postgres:// is not implemented yet)`,
  );
}
