import Database from "better-sqlite3";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newRequestId } from "../../src/core/request-id.js";
import { openDatabase, startStoreWorker, type StoreWorker } from "../../src/store/sqlite/open.js";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/types.js";
import { silentLogger } from "../../src/core/logger.js";
import { alias, fnRecord, fnVersion, invocation } from "./store-contract.js";

let dir: string;
let file: string;
let store: Store;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "fngraph-sqlite-cache-"));
  file = path.join(dir, "fngraph.db");
  store = createSqliteStore(file);
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const aliasOf = (functionId: string, version: string) => alias(functionId, "live", version);

describe("SQLite store: the invoke path's reads come from memory until a write", () => {
  it("sees every write to functions, versions and aliases at once", async () => {
    const fn = fnRecord("p1", "f");
    // Cached as absent first: creating it must make it visible.
    expect(await store.getFunction("p1", "default", "f")).toBeUndefined();
    expect(await store.createFunction(fn, fnVersion(fn.id))).toBe(true);
    expect((await store.getFunction("p1", "default", "f"))?.id).toBe(fn.id);
    expect((await store.getFunctionById(fn.id))?.name).toBe("f");

    expect((await store.getVersion(fn.id, "latest"))?.memorySize).toBe(128);
    await store.putVersion(fnVersion(fn.id, "latest", { memorySize: 512, revision: 2 }));
    expect((await store.getVersion(fn.id, "latest"))?.memorySize).toBe(512);

    await store.putVersion(fnVersion(fn.id, "1"));
    expect(await store.getAlias(fn.id, "live")).toBeUndefined();
    expect(await store.createAlias(aliasOf(fn.id, "1"))).toBe(true);
    expect((await store.getAlias(fn.id, "live"))?.version).toBe("1");
    await store.putAlias(aliasOf(fn.id, "latest"));
    expect((await store.getAlias(fn.id, "live"))?.version).toBe("latest");
    await store.deleteAlias(fn.id, "live");
    expect(await store.getAlias(fn.id, "live")).toBeUndefined();

    expect(await store.getVersion(fn.id, "1")).toBeDefined();
    await store.deleteVersion(fn.id, "1");
    expect(await store.getVersion(fn.id, "1")).toBeUndefined();

    await store.deleteFunction(fn.id);
    expect(await store.getFunction("p1", "default", "f")).toBeUndefined();
    expect(await store.getFunctionById(fn.id)).toBeUndefined();
    expect(await store.getVersion(fn.id, "latest")).toBeUndefined();
  });

  it("hands out frozen values, so a caller cannot change what the next one reads", async () => {
    const fn = fnRecord("p1", "g");
    await store.createFunction(fn, fnVersion(fn.id));
    const v = await store.getVersion(fn.id, "latest");
    expect(v).toBeDefined();
    expect(() => {
      (v as { memorySize: number }).memorySize = 1;
    }).toThrow(TypeError);
    expect(() => {
      (v as { userData: Record<string, string> }).userData["X"] = "y";
    }).toThrow(TypeError);
    expect((await store.getVersion(fn.id, "latest"))?.memorySize).toBe(128);
    // A copy is the caller's to change.
    const copy = { ...v!, memorySize: 256 };
    expect(copy.memorySize).toBe(256);
  });
});

describe("SQLite store worker", () => {
  it("moves committed pages into the database file from its own thread", async () => {
    const other = path.join(dir, "ck.db");
    const db = openDatabase(other);
    db.exec(
      "CREATE TABLE invocations (request_id TEXT PRIMARY KEY, function_id TEXT, created_at TEXT, data TEXT); CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
    );
    const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
    db.transaction(() => {
      for (let i = 0; i < 500; i++) insert.run("x".repeat(200));
    })();
    // The connection itself does not checkpoint this little (its fallback is ~40 MB of WAL):
    // a copy of the main file alone, without the WAL, has no rows yet.
    const rowsInMainFile = (): number => {
      const copy = path.join(dir, `copy-${Math.random()}.db`);
      copyFileSync(other, copy);
      const c = new Database(copy, { readonly: true });
      try {
        const hasTable = c
          .prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 't'")
          .get() as { n: number };
        if (hasTable.n === 0) return 0;
        return (c.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n;
      } catch (err) {
        // A copy taken while the worker was writing the checkpoint's pages: not there yet.
        if (err instanceof Error && /malformed/.test(err.message)) return 0;
        throw err;
      } finally {
        c.close();
      }
    };
    expect(rowsInMainFile()).toBe(0);
    const worker = startStoreWorker(other, 20);
    try {
      let rows = 0;
      for (let i = 0; i < 250 && rows === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        rows = rowsInMainFile();
      }
      expect(rows).toBe(500);
    } finally {
      await worker.close();
      db.close();
    }
  });

  // Version 7 ids (the platform's own) go many to a row, others one per row.
  describe.each([
    ["v4-like", (_at: number, tag: string) => tag],
    ["v7", (at: number) => newRequestId(at)],
  ] as const)("with %s request ids", (_kind, makeId) => {
    it("writes invocation records; a record of a deleted function does not lose the others", async () => {
      const fn = fnRecord("p1", `rec-${_kind}`);
      await store.createFunction(fn, fnVersion(fn.id));
      const now = Date.now();
      const rec = (functionId: string, tag: string) => ({
        ...invocation(functionId),
        requestId: makeId(now, `${_kind}-${tag}`),
      });
      const [r1, r2, r3] = [rec(fn.id, "r1"), rec("no-such-function", "r2"), rec(fn.id, "r3")];
      await store.addInvocations([r1, r2, r3]).then(
        () => {
          throw new Error("the bad record should be reported");
        },
        (err: Error) => expect(err.message).toMatch(/not stored/),
      );
      expect((await store.getInvocation(r1.requestId))?.functionId).toBe(fn.id);
      expect(await store.getInvocation(r2.requestId)).toBeUndefined();
      expect((await store.getInvocation(r3.requestId))?.functionId).toBe(fn.id);
    });

    it("replaces a record of the same request id, in a later batch or the same one", async () => {
      const fn = fnRecord("p1", `retry-${_kind}`);
      await store.createFunction(fn, fnVersion(fn.id));
      const now = Date.now();
      const id = (tag: string) => makeId(now, `${_kind}-${tag}`);
      const first = { ...invocation(fn.id), requestId: id("q1"), status: "error" as const };
      const retried = { ...first, status: "success" as const, log: "second attempt" };
      const q2 = { ...invocation(fn.id), requestId: id("q2") };
      const q3 = { ...invocation(fn.id), requestId: id("q3") };
      await store.addInvocations([first, q2]);
      await store.addInvocations([retried, q3]);
      expect(await store.getInvocation(first.requestId)).toEqual(retried);
      expect(await store.getInvocation(q3.requestId)).toEqual(q3);
      const again = { ...retried, log: "third attempt" };
      await store.addInvocations([{ ...retried, log: "lost" }, again]);
      expect(await store.getInvocation(first.requestId)).toEqual(again);
      expect(await store.getInvocation(q2.requestId)).toEqual(q2);
    });

    it("prunes old records in batches while writes go on", async () => {
      const fn = fnRecord("p1", `prune-${_kind}`);
      await store.createFunction(fn, fnVersion(fn.id));
      const rec = (i: number, at: number) => ({
        ...invocation(fn.id),
        requestId: makeId(at, `${_kind}-p${i}`),
        startedAt: new Date(at).toISOString(),
      });
      // More than two of the worker's delete batches (2,000 rows each, or 20 rows of a second's
      // records each: the 4,500 span 90 seconds).
      const t0 = Date.parse("2020-01-01T00:00:00.000Z");
      const old = Array.from({ length: 4500 }, (_, i) => rec(i, t0 + i * 20));
      await store.addInvocations(old);
      const pruned = store.pruneInvocations("2021-01-01T00:00:00.000Z");
      const recent = rec(99_999, Date.parse("2026-11-29T00:00:00.000Z"));
      const written = store.addInvocations([recent]);
      expect(await pruned).toBe(4500);
      await written;
      expect(await store.getInvocation(old[0]!.requestId)).toBeUndefined();
      expect(await store.getInvocation(old[4499]!.requestId)).toBeUndefined();
      expect((await store.getInvocation(recent.requestId))?.startedAt).toBe(
        "2026-11-29T00:00:00.000Z",
      );
    });
  });

  it("refuses a prune once closed", async () => {
    const w = startStoreWorker(file, 1000);
    await w.close();
    await expect(w.pruneInvocations("2030-01-01T00:00:00.000Z")).rejects.toThrow();
  });

  it("closes (twice) without hanging, and refuses writes afterwards", async () => {
    const w = startStoreWorker(file, 1000);
    await w.close();
    await w.close();
    await expect(w.writeInvocations([{ ...invocation("b"), requestId: "a" }])).rejects.toThrow();
  });

  it("loses no record when its worker thread stops, and starts a new one later", async () => {
    const workers: StoreWorker[] = [];
    let clock = 1_000_000;
    const logged: string[] = [];
    const logger = {
      ...silentLogger,
      error: (_o: unknown, msg?: string) => void logged.push(msg ?? ""),
    };
    const other = createSqliteStore(path.join(dir, "other.db"), {
      logger,
      now: () => clock,
      startWorker: (f) => {
        const w = startStoreWorker(f, 1000);
        workers.push(w);
        return w;
      },
    });
    try {
      const fn = fnRecord("p1", "crash");
      await other.createFunction(fn, fnVersion(fn.id));
      const batch = (tag: string) =>
        Array.from({ length: 3 }, (_, i) => ({ ...invocation(fn.id), requestId: `${tag}${i}` }));
      await other.addInvocations(batch("a"));
      expect(workers).toHaveLength(1);
      await workers[0]?.terminate();
      // The thread is gone: the batch goes through the main connection, and so does the next.
      await other.addInvocations(batch("b"));
      clock += 9_999;
      await other.addInvocations(batch("c"));
      expect(workers).toHaveLength(1);
      expect(logged).toEqual(["the store's worker thread stopped; writing on the main thread"]);
      // Ten seconds on, a new worker takes the writes and the prunes again.
      clock += 1;
      await other.addInvocations(batch("d"));
      expect(workers).toHaveLength(2);
      for (const tag of ["a", "b", "c", "d"]) {
        for (let i = 0; i < 3; i++) {
          expect((await other.getInvocation(`${tag}${i}`))?.requestId).toBe(`${tag}${i}`);
        }
      }
      await workers[1]?.terminate();
      expect(await other.pruneInvocations("2030-01-01T00:00:00.000Z")).toBe(12);
      expect(await other.getInvocation("d0")).toBeUndefined();
    } finally {
      await other.close();
    }
  });
});
