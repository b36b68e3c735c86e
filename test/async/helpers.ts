import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { FunctionRecord, FunctionVersion } from "../../src/core/types.js";
import type { PlatformOptions } from "../../src/main.js";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { createSqliteAsyncStore } from "../../src/store/sqlite/async-store.js";
import type { AsyncStore } from "../../src/store/async.js";
import type { Store } from "../../src/store/index.js";
import { startTestPlatform, type TestPlatform } from "../helpers/platform.js";

export { createFakeClock, settle, type FakeClock } from "../helpers/fake-clock.js";

/** Poll `check` until it returns a value (real time; for real servers and processes). */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  what = "condition",
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The main store and the async queue on a fresh SQLite file. */
export function openSqliteStores(): {
  store: Store;
  queue: AsyncStore;
  dir: string;
  close(): Promise<void>;
} {
  const dir = mkdtempSync(path.join(os.tmpdir(), "fngraph-async-"));
  const file = path.join(dir, "fngraph.db");
  const store = createSqliteStore(file);
  const queue = createSqliteAsyncStore(file);
  return {
    store,
    queue,
    dir,
    close: async () => {
      await queue.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A function record and its latest version, enough for the queue and the dispatcher. */
export function fakeFunction(
  id: string,
  name = id,
): { fn: FunctionRecord; version: FunctionVersion } {
  const fn: FunctionRecord = {
    id,
    projectId: "p".repeat(32),
    package: "default",
    name,
    runtime: "Node.js20.15",
    createdAt: new Date(0).toISOString(),
  };
  const version = {
    functionId: id,
    version: "latest",
    handler: "index.handler",
    memorySize: 128,
    timeout: 3,
    codeDigest: "d",
    codeSize: 1,
    strategy: { concurrency: 400, concurrentNum: 1 },
    extra: {},
  } as unknown as FunctionVersion;
  return { fn, version };
}

/** The real platform in-process with dispatcher tuning, on port 0 with a temp dir. */
export async function startAsyncPlatform(
  options: PlatformOptions = {},
  overrides: Record<string, unknown> = {},
): Promise<TestPlatform & { db(): Database.Database }> {
  const t = await startTestPlatform(overrides, options);
  let db: Database.Database | undefined;
  return {
    ...t,
    /** Read-only view of the platform's database (invocation records). */
    db: () => (db ??= new Database(path.join(t.dataDir, "fngraph.db"), { readonly: true })),
    close: async () => {
      db?.close();
      await t.close();
    },
  };
}
