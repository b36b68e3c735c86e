import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPostgresAsyncStore } from "../../src/store/postgres/async-store.js";
import type { AsyncStore, NewAsyncInvocation } from "../../src/store/async.js";
import { openSqliteStores } from "./helpers.js";

const PG_URL = process.env["FNGRAPH_TEST_PG"] ?? "postgres://postgres@127.0.0.1:5432/test";
const T0 = Date.UTC(2026, 0, 1);

function row(over: Partial<NewAsyncInvocation> = {}): NewAsyncInvocation {
  return {
    requestId: randomUUID(),
    projectId: "p1",
    functionId: "f1",
    funcUrn: "urn:fss:r:p1:function:default:f1:latest",
    qualifier: "latest",
    event: '{"a":1}',
    headers: { "x-cff-workflow-id": "w" },
    policy: { maxRetries: 1, maxAgeSeconds: 3600 },
    createdAt: T0,
    ...over,
  };
}

/** One contract, run against every AsyncStore implementation. */
function contract(name: string, open: () => Promise<{ q: AsyncStore; close(): Promise<void> }>) {
  describe(`async queue contract: ${name}`, () => {
    let q: AsyncStore;
    let close: () => Promise<void>;
    // A fresh queue per test: claims see every due row, so tests must not share one.
    beforeEach(async () => {
      const opened = await open();
      q = opened.q;
      close = () => opened.close();
    });
    afterEach(async () => {
      await close();
    });

    it("keeps what was enqueued and lists it with the filters", async () => {
      const fn = randomUUID();
      const rows = [0, 1, 2, 3, 4].map((i) =>
        row({ functionId: fn, createdAt: T0 + i * 1000, qualifier: i < 3 ? "latest" : "!a1" }),
      );
      rows[4]!.memoryMb = 256;
      await q.enqueue(rows);
      const got = await q.get(rows[4]!.requestId);
      expect(got).toMatchObject({
        status: "WAIT",
        attempts: 0,
        failures: 0,
        memoryMb: 256,
        headers: { "x-cff-workflow-id": "w" },
        policy: { maxRetries: 1, maxAgeSeconds: 3600 },
        startedAt: null,
        endedAt: null,
        cancelRequested: false,
      });
      const all = await q.list({ functionId: fn, offset: 0, limit: 10 });
      expect(all.total).toBe(5);
      expect(all.items.map((r) => r.requestId)).toEqual(rows.map((r) => r.requestId).reverse());
      const page = await q.list({ functionId: fn, offset: 1, limit: 2 });
      expect(page.items.map((r) => r.requestId)).toEqual([rows[3]!.requestId, rows[2]!.requestId]);
      expect((await q.list({ functionId: fn, qualifier: "!a1", offset: 0, limit: 10 })).total).toBe(
        2,
      );
      const win = await q.list({
        functionId: fn,
        from: T0 + 1000,
        to: T0 + 2000,
        offset: 0,
        limit: 10,
      });
      expect(win.items.map((r) => r.requestId).sort()).toEqual(
        [rows[1]!.requestId, rows[2]!.requestId].sort(),
      );
      const byId = await q.list({
        functionId: fn,
        requestIds: [rows[0]!.requestId],
        statuses: ["WAIT"],
        offset: 0,
        limit: 10,
      });
      expect(byId.total).toBe(1);
      expect(
        (await q.list({ functionId: fn, statuses: ["SUCCESS"], offset: 0, limit: 10 })).total,
      ).toBe(0);
    });

    it("claims due requests once, renews, finishes only under its lease, recovers expired leases", async () => {
      const fn = randomUUID();
      const due = row({ functionId: fn, createdAt: T0 });
      const later = row({ functionId: fn, createdAt: T0 + 60_000 });
      await q.enqueue([due, later]);
      // Only this test's rows: claim at a time when only `due` is due among them.
      const claimed = (await q.claim("A", T0 + 1, 10_000, 100)).filter((r) => r.functionId === fn);
      expect(claimed.map((r) => r.requestId)).toEqual([due.requestId]);
      expect(claimed[0]).toMatchObject({
        status: "RUNNING",
        attempts: 1,
        leaseOwner: "A",
        startedAt: T0 + 1,
      });
      expect((await q.claim("B", T0 + 2, 10_000, 100)).filter((r) => r.functionId === fn)).toEqual(
        [],
      );
      expect(await q.renew("A", [due.requestId], T0 + 50_000)).toEqual([]);
      // B takes over only after A's lease expired, and then A's finish is refused.
      expect(
        (await q.claim("B", T0 + 20_000, 10_000, 100)).filter((r) => r.requestId === due.requestId),
      ).toEqual([]);
      const taken = (await q.claim("B", T0 + 60_001, 10_000, 100)).filter(
        (r) => r.functionId === fn,
      );
      expect(taken.map((r) => r.requestId).sort()).toEqual([due.requestId, later.requestId].sort());
      expect(taken.find((r) => r.requestId === due.requestId)).toMatchObject({
        attempts: 2,
        leaseOwner: "B",
        startedAt: T0 + 1,
      });
      const lost = await q.finish(
        {
          requestId: due.requestId,
          owner: "A",
          status: "SUCCESS",
          errorCode: 0,
          errorMessage: "",
          version: "latest",
          failed: false,
        },
        T0 + 50_002,
      );
      expect(lost).toBe(false);
      // A failed attempt goes back to WAIT with its retry time; a 429 is not counted.
      expect(
        await q.finish(
          {
            requestId: due.requestId,
            owner: "B",
            status: "WAIT",
            errorCode: 4002,
            errorMessage: "boom",
            version: "latest",
            notBefore: T0 + 70_000,
            failed: true,
          },
          T0 + 50_003,
        ),
      ).toBe(true);
      expect(
        await q.finish(
          {
            requestId: later.requestId,
            owner: "B",
            status: "WAIT",
            errorCode: 0,
            errorMessage: "",
            version: "",
            notBefore: T0 + 50_100,
            failed: false,
            uncount: true,
          },
          T0 + 50_003,
        ),
      ).toBe(true);
      expect(await q.get(due.requestId)).toMatchObject({
        status: "WAIT",
        failures: 1,
        attempts: 2,
        notBefore: T0 + 70_000,
        errorCode: 4002,
        leaseOwner: "",
      });
      expect(await q.get(later.requestId)).toMatchObject({
        status: "WAIT",
        failures: 0,
        attempts: 0,
      });
      // Success with a follow-up (destination notification) in the same transaction.
      const again = (await q.claim("C", T0 + 70_000, 10_000, 100)).filter(
        (r) => r.functionId === fn,
      );
      expect(again).toHaveLength(2);
      const follow = row({ functionId: randomUUID(), createdAt: T0 + 70_001 });
      expect(
        await q.finish(
          {
            requestId: due.requestId,
            owner: "C",
            status: "SUCCESS",
            errorCode: 0,
            errorMessage: "",
            version: "1",
            failed: false,
            destinationStatus: `QUEUED ${follow.requestId}`,
            followUp: follow,
          },
          T0 + 70_001,
        ),
      ).toBe(true);
      expect(await q.get(due.requestId)).toMatchObject({
        status: "SUCCESS",
        endedAt: T0 + 70_001,
        version: "1",
        destinationStatus: `QUEUED ${follow.requestId}`,
      });
      expect(await q.get(follow.requestId)).toMatchObject({ status: "WAIT" });
      // Requeue after a crash: every RUNNING row, or one owner's.
      expect(await q.requeueRunning(T0 + 80_000, "nobody")).toBe(0);
      expect(await q.requeueRunning(T0 + 80_000, "C")).toBeGreaterThanOrEqual(1);
      expect(await q.get(later.requestId)).toMatchObject({
        status: "WAIT",
        notBefore: T0 + 80_000,
        leaseOwner: "",
      });
    });

    it("never hands the same request to two concurrent claimers", async () => {
      const fn = randomUUID();
      const rows = Array.from({ length: 200 }, () => row({ functionId: fn, createdAt: T0 }));
      await q.enqueue(rows);
      const claims = await Promise.all(
        ["w1", "w2", "w3", "w4"].map((o) => q.claim(o, T0 + 1, 60_000, 80)),
      );
      const ids = claims
        .flat()
        .filter((r) => r.functionId === fn)
        .map((r) => r.requestId);
      expect(new Set(ids).size).toBe(ids.length);
      const rest = (await q.claim("w5", T0 + 1, 60_000, 500)).filter((r) => r.functionId === fn);
      expect(ids.length + rest.length).toBe(200);
      expect(await q.nextDue()).toBeUndefined();
      await q.requeueRunning(T0 + 5);
      expect(await q.nextDue()).toBe(T0 + 5);
    });

    it("cancels: WAIT becomes FAIL, RUNNING gets the flag (seen on renew), finished stays", async () => {
      const fn = randomUUID();
      const [a, b] = [row({ functionId: fn }), row({ functionId: fn })];
      await q.enqueue([a, b]);
      expect(await q.cancel(a.requestId, T0 + 5, 4208, "function invocation canceled")).toBe(
        "WAIT",
      );
      expect(await q.get(a.requestId)).toMatchObject({
        status: "FAIL",
        errorCode: 4208,
        endedAt: T0 + 5,
      });
      expect((await q.claim("X", T0 + 10, 10_000, 500)).map((r) => r.requestId)).toEqual([
        b.requestId,
      ]);
      expect(await q.cancel(b.requestId, T0 + 11, 4208, "c")).toBe("RUNNING");
      expect(await q.renew("X", [b.requestId], T0 + 20_000)).toEqual([b.requestId]);
      expect(await q.cancel(a.requestId, T0, 4208, "c")).toBe("FAIL");
      expect(await q.cancel(randomUUID(), T0, 4208, "c")).toBeUndefined();
    });

    it("prunes requests that ended before a time, and keeps waiting, running and later ones", async () => {
      const fn = randomUUID();
      // More than two of SQLite's delete batches (500 rows each).
      const old = Array.from({ length: 1100 }, () => row({ functionId: fn }));
      const [later, waiting, running] = [row({ functionId: fn }), row(), row()];
      await q.enqueue([...old, later, waiting, running]);
      for (const r of old) await q.cancel(r.requestId, T0 + 5, 4208, "c");
      await q.cancel(later.requestId, T0 + 50, 4208, "c");
      await q.claim("X", T0 + 1, 10_000, 500);
      expect(await q.requeueRunning(T0 + 2)).toBeGreaterThan(0);
      // One WAIT request left in WAIT, one claimed (RUNNING); both were accepted at T0.
      const claimed = await q.claim("X", T0 + 3, 10_000, 1);
      const stillWaiting = [waiting, running].find((r) => r.requestId !== claimed[0]?.requestId)!;
      expect(await q.pruneFinished(T0 + 10)).toBe(1100);
      for (const r of [old[0]!, old[1099]!]) expect(await q.get(r.requestId)).toBeUndefined();
      expect(await q.get(later.requestId)).toMatchObject({ status: "FAIL", endedAt: T0 + 50 });
      expect(await q.get(stillWaiting.requestId)).toMatchObject({ status: "WAIT" });
      expect(await q.get(claimed[0]!.requestId)).toMatchObject({ status: "RUNNING" });
      expect(await q.pruneFinished(T0 + 10)).toBe(0);
    });

    it("stores async invoke configs per qualifier", async () => {
      const fn = randomUUID();
      const project = randomUUID();
      const base = {
        projectId: project,
        functionId: fn,
        maxRetries: 2,
        maxAgeSeconds: 60,
        enableStatusLog: false,
        extra: {},
        createdAt: T0,
        lastModified: T0,
      };
      await q.putConfig({ ...base, qualifier: "latest" });
      await q.putConfig({
        ...base,
        qualifier: "!a1",
        onFailure: { destination: "FunctionGraph", param: '{"func_urn":"x"}', functionId: "g" },
        onSuccess: { destination: "OBS", param: '{"bucket":"b"}' },
        extra: { log_group_id: "lg" },
      });
      expect(await q.getConfig(fn, "latest")).toEqual({ ...base, qualifier: "latest" });
      expect((await q.getConfig(fn, "!a1"))?.onFailure).toEqual({
        destination: "FunctionGraph",
        param: '{"func_urn":"x"}',
        functionId: "g",
      });
      const list = await q.listConfigs(fn, 0, 10);
      expect(list.total).toBe(2);
      expect(list.items.map((c) => c.qualifier)).toEqual(["!a1", "latest"]);
      expect((await q.listDestinationConfigs(project)).map((c) => c.qualifier)).toEqual(["!a1"]);
      await q.putConfig({ ...base, qualifier: "!a1", maxRetries: 0 });
      expect(await q.listDestinationConfigs(project)).toEqual([]);
      expect(await q.deleteConfig(fn, "latest")).toBe(true);
      expect(await q.deleteConfig(fn, "latest")).toBe(false);
      expect(await q.getConfig(fn, "latest")).toBeUndefined();
    });
  });
}

contract("sqlite", async () => {
  const s = openSqliteStores();
  return { q: s.queue, close: () => s.close() };
});

contract("postgres", async () => {
  const schema = `t_async_${randomUUID().replace(/-/g, "").slice(0, 16)}`;
  const q = await createPostgresAsyncStore({ url: PG_URL, schema, poolSize: 4 });
  return {
    q,
    close: async () => {
      await q.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
});
