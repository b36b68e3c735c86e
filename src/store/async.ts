import { createPostgresAsyncStore } from "./postgres/async-store.js";
import { createSqliteAsyncStore } from "./sqlite/async-store.js";
import type { AsyncStore } from "./async-types.js";

export type * from "./async-types.js";
export { ASYNC_STATUSES, DESTINATION_TYPES, FINAL_STATUSES } from "./async-types.js";

/**
 * Open the async queue for the `store` setting. On SQLite the main store must be open (it
 * applies the migrations); on PostgreSQL the queue creates its own tables.
 */
export async function openAsyncStore(url: string): Promise<AsyncStore> {
  if (url.startsWith("sqlite:")) return createSqliteAsyncStore(url.slice("sqlite:".length));
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    const u = new URL(url);
    const schema = u.searchParams.get("schema") ?? undefined;
    u.searchParams.delete("schema");
    return createPostgresAsyncStore({ url: u.toString(), ...(schema ? { schema } : {}) });
  }
  throw new Error(`unsupported store "${url}"`);
}
