import { mkdirSync } from "node:fs";
import path from "node:path";
import { isPostgresUrl, parsePostgresUrl } from "./postgres/connect.js";
import { createPostgresStore } from "./postgres/postgres-store.js";
import { createSqliteStore } from "./sqlite/sqlite-store.js";
import type { Logger } from "../core/logger.js";
import type { Store } from "./types.js";

export type { Store, ListFunctionsQuery } from "./types.js";

/**
 * Open the store named by the `store` setting: `sqlite:<file>` or
 * `postgres://user@host:port/db?schema=<name>` (schema default `public`, created when missing).
 * Applies the migrations, so open it before the trigger, dependency and async stores.
 */
export async function openStore(url: string, opts: { logger?: Logger } = {}): Promise<Store> {
  if (url.startsWith("sqlite:")) {
    const file = url.slice("sqlite:".length);
    if (file !== ":memory:") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    return createSqliteStore(file, opts);
  }
  if (isPostgresUrl(url)) return createPostgresStore(parsePostgresUrl(url));
  throw new Error(`unsupported store "${url}": use sqlite:<file> or postgres://…`);
}
