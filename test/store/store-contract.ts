import { randomUUID } from "node:crypto";
import { newRequestId } from "../../src/core/request-id.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  FunctionAlias,
  FunctionRecord,
  FunctionVersion,
  Identity,
  InvocationRecord,
} from "../../src/core/types.js";
import type { AsyncStore } from "../../src/store/async.js";
import type { DependencyStore, NewDependencyVersion } from "../../src/store/dependencies.js";
import type { Store } from "../../src/store/index.js";
import type { ReservedConfig, ReservedStore } from "../../src/store/reserved.js";
import type { TriggerRecord, TriggerStore } from "../../src/store/triggers.js";

/** Every store of one database, opened the way the platform opens them (main store first). */
export interface OpenedStores {
  store: Store;
  triggers: TriggerStore;
  dependencies: DependencyStore;
  reserved: ReservedStore;
  queue: AsyncStore;
  close(): Promise<void>;
}

/** One database (a file, a schema) that can be opened more than once and dropped at the end. */
export interface StoreTarget {
  open(): Promise<OpenedStores>;
  destroy(): Promise<void>;
}

const uid = (): string => randomUUID().replace(/-/g, "");

export function fnRecord(projectId: string, name: string, over: Partial<FunctionRecord> = {}) {
  return {
    id: randomUUID(),
    projectId,
    package: "default",
    name,
    runtime: "Node.js20.15",
    createdAt: "2026-01-01T00:00:00.000Z",
    ...over,
  } satisfies FunctionRecord;
}

export function fnVersion(
  functionId: string,
  version = "latest",
  over: Partial<FunctionVersion> = {},
): FunctionVersion {
  return {
    functionId,
    version,
    handler: "index.handler",
    memorySize: 128,
    timeout: 3,
    codeType: "zip",
    codeFilename: "code.zip",
    codeUrl: "",
    codeDigest: `d-${uid()}`,
    codeSize: 100,
    userData: { B: "2", A: "1" },
    encryptedUserData: {},
    description: "déjà vu ✓",
    versionDescription: "",
    initializerHandler: "",
    initializerTimeout: 0,
    preStopHandler: "",
    preStopTimeout: 0,
    strategy: { concurrency: -1, concurrentNum: 1 },
    ephemeralStorage: 512,
    dependVersionList: [],
    extra: { z: 1, a: { nested: [1, "two", null] } },
    revision: 1,
    lastModified: "2026-01-01T00:00:00.000Z",
    ...over,
  };
}

export function alias(functionId: string, name: string, version: string): FunctionAlias {
  return {
    functionId,
    name,
    version,
    description: "",
    additionalVersionWeights: {},
    additionalVersionStrategy: {},
    createdAt: "2026-01-01T00:00:00.000Z",
    lastModified: "2026-01-01T00:00:00.000Z",
  };
}

function trigger(fn: FunctionRecord, over: Partial<TriggerRecord> = {}): TriggerRecord {
  return {
    id: randomUUID(),
    projectId: fn.projectId,
    functionId: fn.id,
    qualifier: "latest",
    funcUrn: `urn:fss:r:${fn.projectId}:function:default:${fn.name}:latest`,
    type: "TIMER",
    status: "ACTIVE",
    eventData: { name: "t", schedule: "1m", schedule_type: "Rate" },
    internal: {},
    createdAt: 1000,
    updatedAt: 1000,
    ...over,
  };
}

function depVersion(name: string, over: Partial<NewDependencyVersion> = {}): NewDependencyVersion {
  return {
    name,
    owner: "domain",
    runtime: "Node.js20.15",
    description: "",
    digest: `dd-${uid()}`,
    etag: "e",
    size: 10,
    fileName: "dep.zip",
    link: "",
    createdAt: 1000,
    ...over,
  };
}

/**
 * The Store contract (with the trigger and dependency stores that share its database, and the
 * async queue's part in deleting a function), run against every implementation.
 */
export function storeContract(target: () => Promise<StoreTarget>): void {
  let t: StoreTarget;
  let s: OpenedStores;
  beforeAll(async () => {
    t = await target();
    s = await t.open();
  });
  afterAll(async () => {
    await s?.close();
    await t?.destroy();
  });

  /** A function with its latest version in a fresh project. */
  const newFunction = async (projectId = `p${uid()}`, name = "f") => {
    const fn = fnRecord(projectId, name);
    const latest = fnVersion(fn.id);
    expect(await s.store.createFunction(fn, latest)).toBe(true);
    return { fn, latest };
  };

  describe("identity", () => {
    it("is absent in a new database, then saved and replaced", async () => {
      expect(await s.store.loadIdentity()).toBeUndefined();
      const id: Identity = {
        projectId: uid(),
        projectName: "cn-north-4",
        domainId: uid(),
        domainName: "d",
        userId: uid(),
        userName: "u",
        password: "p",
        accessKey: "AK",
        secretKey: "SK",
        tokenKey: "k",
        createdAt: "2026-01-01T00:00:00.000Z",
      };
      await s.store.saveIdentity(id);
      expect(await s.store.loadIdentity()).toEqual(id);
      await s.store.saveIdentity({ ...id, password: "q" });
      expect(await s.store.loadIdentity()).toEqual({ ...id, password: "q" });
    });
  });

  describe("functions", () => {
    it("creates a function with its latest version and finds it by name and id", async () => {
      const { fn, latest } = await newFunction();
      expect(await s.store.getFunction(fn.projectId, "default", "f")).toEqual(fn);
      expect(await s.store.getFunctionById(fn.id)).toEqual(fn);
      const got = await s.store.getVersion(fn.id, "latest");
      expect(got).toEqual(latest);
      // Documents come back as written (key order too).
      expect(JSON.stringify(got)).toBe(JSON.stringify(latest));
      expect(await s.store.getFunction(fn.projectId, "other", "f")).toBeUndefined();
      expect(await s.store.getFunction(`p${uid()}`, "default", "f")).toBeUndefined();
      expect(await s.store.getFunctionById(randomUUID())).toBeUndefined();
    });

    it("refuses a taken name or id without writing the second latest version", async () => {
      const { fn, latest } = await newFunction();
      const twin = fnRecord(fn.projectId, fn.name);
      expect(await s.store.createFunction(twin, fnVersion(twin.id))).toBe(false);
      expect(await s.store.getFunctionById(twin.id)).toBeUndefined();
      expect(await s.store.getVersion(twin.id, "latest")).toBeUndefined();
      const sameId = { ...fnRecord(fn.projectId, "g"), id: fn.id };
      expect(
        await s.store.createFunction(sameId, fnVersion(fn.id, "latest", { handler: "x.y" })),
      ).toBe(false);
      expect(await s.store.getVersion(fn.id, "latest")).toEqual(latest);
      // Same name in another package or project is another function.
      const otherPkg = fnRecord(fn.projectId, fn.name, { package: "p2" });
      expect(await s.store.createFunction(otherPkg, fnVersion(otherPkg.id))).toBe(true);
    });

    it("creates nothing when the latest version cannot be written (atomic)", async () => {
      const fn = fnRecord(`p${uid()}`, "f");
      await expect(
        s.store.createFunction(fn, fnVersion(randomUUID() /* no such function */)),
      ).rejects.toThrow();
      expect(await s.store.getFunctionById(fn.id)).toBeUndefined();
      expect(await s.store.countFunctions(fn.projectId)).toBe(0);
    });

    it("of concurrent creates of one name, exactly one wins", async () => {
      const projectId = `p${uid()}`;
      const fns = [0, 1, 2, 3, 4].map(() => fnRecord(projectId, "race"));
      const won = await Promise.all(fns.map((f) => s.store.createFunction(f, fnVersion(f.id))));
      expect(won.filter(Boolean)).toHaveLength(1);
      expect(await s.store.countFunctions(projectId)).toBe(1);
    });

    it("lists a project's functions by creation time then name, with filters and pages", async () => {
      const projectId = `p${uid()}`;
      const mk = async (name: string, createdAt: string, pkg = "default") => {
        const fn = fnRecord(projectId, name, { createdAt, package: pkg });
        expect(await s.store.createFunction(fn, fnVersion(fn.id))).toBe(true);
        return fn;
      };
      const b = await mk("b-func", "2026-01-01T00:00:01.000Z");
      const a = await mk("a-func", "2026-01-01T00:00:01.000Z");
      const Z = await mk("Z_func", "2026-01-01T00:00:01.000Z");
      const early = await mk("zzz", "2026-01-01T00:00:00.000Z", "pkg2");
      const late = await mk("func-b", "2026-01-01T00:00:02.000Z", "pkg2");
      await mk("other", "2026-01-01T00:00:00.000Z");
      await newFunction(); // another project
      const list = (q: { package?: string; name?: string; offset?: number; limit?: number }) =>
        s.store.listFunctions({ projectId, offset: 0, limit: 100, ...q });
      const all = await list({});
      expect(all.total).toBe(6);
      // Byte order, as SQLite's BINARY collation: upper case before lower case.
      expect(all.items.map((f) => f.name)).toEqual([
        "other",
        "zzz",
        "Z_func",
        "a-func",
        "b-func",
        "func-b",
      ]);
      expect(all.items[2]).toEqual(Z);
      const page = await list({ offset: 2, limit: 2 });
      expect(page.total).toBe(6);
      expect(page.items.map((f) => f.id)).toEqual([Z.id, a.id]);
      expect((await list({ offset: 6, limit: 2 })).items).toEqual([]);
      expect((await list({ limit: 0 })).items).toEqual([]);
      const pkg2 = await list({ package: "pkg2" });
      expect(pkg2).toEqual({ items: [early, late], total: 2 });
      // Name filter: a case-sensitive substring, '_' and '%' taken literally.
      const named = await list({ name: "func" });
      expect(named.items.map((f) => f.id)).toEqual([Z.id, a.id, b.id, late.id]);
      expect((await list({ name: "FUNC" })).total).toBe(0);
      expect((await list({ name: "_" })).items.map((f) => f.id)).toEqual([Z.id]);
      expect((await list({ name: "%" })).total).toBe(0);
      expect((await list({ name: "func", package: "pkg2" })).items).toEqual([late]);
      expect(await s.store.countFunctions(projectId)).toBe(6);
      expect(await s.store.countFunctions(`p${uid()}`)).toBe(0);
    });

    it("deletes a function with its versions, aliases, records, triggers and async rows", async () => {
      const { fn, latest } = await newFunction();
      const keep = await newFunction(fn.projectId, "keep");
      const v1 = fnVersion(fn.id, "1");
      await s.store.putVersion(v1);
      await s.store.createAlias(alias(fn.id, "a1", "1"));
      await s.store.createAlias(alias(keep.fn.id, "a1", "latest"));
      const rec = invocation(fn.id);
      await s.store.addInvocation(rec);
      const tr = trigger(fn);
      expect(await s.triggers.create(tr)).toBe(true);
      expect(await s.triggers.claimFire(tr.id, 5000)).toBe(true);
      await s.reserved.put(reservedConfig(fn, "latest"));
      const keptReserved = reservedConfig(keep.fn, "latest");
      await s.reserved.put(keptReserved);
      const keptTrigger = trigger(keep.fn);
      expect(await s.triggers.create(keptTrigger)).toBe(true);
      const requestId = randomUUID();
      await s.queue.enqueue([
        {
          requestId,
          projectId: fn.projectId,
          functionId: fn.id,
          funcUrn: "urn",
          qualifier: "latest",
          event: "{}",
          headers: {},
          policy: { maxRetries: 0, maxAgeSeconds: 60 },
          createdAt: 1000,
        },
      ]);
      await s.queue.putConfig({
        projectId: fn.projectId,
        functionId: fn.id,
        qualifier: "latest",
        maxRetries: 1,
        maxAgeSeconds: 60,
        enableStatusLog: false,
        extra: {},
        createdAt: 1000,
        lastModified: 1000,
      });

      await s.store.deleteFunction(fn.id);
      expect(await s.store.getFunctionById(fn.id)).toBeUndefined();
      expect(await s.store.listVersions(fn.id)).toEqual([]);
      expect(await s.store.listAliases(fn.id)).toEqual([]);
      expect(await s.store.getInvocation(rec.requestId)).toBeUndefined();
      expect(await s.store.isDigestReferenced(latest.codeDigest)).toBe(false);
      expect(await s.store.isDigestReferenced(v1.codeDigest)).toBe(false);
      expect(await s.triggers.get(tr.id)).toBeUndefined();
      expect(await s.triggers.lastFired(tr.id)).toBeUndefined();
      expect(await s.queue.get(requestId)).toBeUndefined();
      expect(await s.queue.getConfig(fn.id, "latest")).toBeUndefined();
      // The other function keeps everything.
      expect(await s.store.getVersion(keep.fn.id, "latest")).toEqual(keep.latest);
      expect(await s.store.getAlias(keep.fn.id, "a1")).toBeDefined();
      expect(await s.triggers.get(keptTrigger.id)).toEqual(keptTrigger);
      expect(await s.reserved.list(fn.projectId)).toEqual([keptReserved]);
      // Deleting a missing function is a no-op.
      await s.store.deleteFunction(fn.id);
    });
  });

  describe("versions", () => {
    it("puts, replaces and lists versions in creation order", async () => {
      const { fn, latest } = await newFunction();
      const v2 = fnVersion(fn.id, "2");
      const v10 = fnVersion(fn.id, "10");
      const v1 = fnVersion(fn.id, "1");
      for (const v of [v2, v10, v1]) await s.store.putVersion(v);
      expect(await s.store.listVersions(fn.id)).toEqual([latest, v2, v10, v1]);
      // Replacing keeps the position and updates digest and size.
      const latest2 = { ...latest, handler: "main.run", codeDigest: `d-${uid()}`, codeSize: 7 };
      await s.store.putVersion(latest2);
      expect(await s.store.listVersions(fn.id)).toEqual([latest2, v2, v10, v1]);
      expect(await s.store.getVersion(fn.id, "latest")).toEqual(latest2);
      expect(await s.store.isDigestReferenced(latest.codeDigest)).toBe(false);
      expect(await s.store.isDigestReferenced(latest2.codeDigest)).toBe(true);
      expect(await s.store.getVersion(fn.id, "3")).toBeUndefined();
      expect(await s.store.listVersions(randomUUID())).toEqual([]);
      // A version of a missing function is refused.
      await expect(s.store.putVersion(fnVersion(randomUUID(), "1"))).rejects.toThrow();
    });

    it("deletes a version with the aliases whose main version it is", async () => {
      const { fn } = await newFunction();
      await s.store.putVersion(fnVersion(fn.id, "1"));
      await s.store.putVersion(fnVersion(fn.id, "2"));
      await s.store.createAlias(alias(fn.id, "on1", "1"));
      await s.store.createAlias(alias(fn.id, "also-on1", "1"));
      const weighted = { ...alias(fn.id, "on2", "2"), additionalVersionWeights: { "1": 10 } };
      await s.store.createAlias(weighted);
      await s.store.deleteVersion(fn.id, "1");
      expect(await s.store.getVersion(fn.id, "1")).toBeUndefined();
      expect((await s.store.listVersions(fn.id)).map((v) => v.version)).toEqual(["latest", "2"]);
      expect(await s.store.listAliases(fn.id)).toEqual([weighted]);
      await s.store.deleteVersion(fn.id, "1"); // again: nothing to do
      // A version deleted and put again counts as new.
      await s.store.putVersion(fnVersion(fn.id, "1"));
      expect((await s.store.listVersions(fn.id)).map((v) => v.version)).toEqual([
        "latest",
        "2",
        "1",
      ]);
    });

    it("sums code sizes per project and tracks digests across functions", async () => {
      const projectId = `p${uid()}`;
      expect(await s.store.totalCodeSize(projectId)).toBe(0);
      const a = await newFunction(projectId, "a");
      const b = await newFunction(projectId, "b");
      await newFunction(); // another project
      const shared = `d-${uid()}`;
      await s.store.putVersion(
        fnVersion(a.fn.id, "1", { codeDigest: shared, codeSize: 5_000_000_000 }),
      );
      await s.store.putVersion(fnVersion(b.fn.id, "1", { codeDigest: shared, codeSize: 1 }));
      expect(await s.store.totalCodeSize(projectId)).toBe(5_000_000_201);
      await s.store.deleteVersion(a.fn.id, "1");
      expect(await s.store.isDigestReferenced(shared)).toBe(true);
      await s.store.deleteVersion(b.fn.id, "1");
      expect(await s.store.isDigestReferenced(shared)).toBe(false);
      expect(await s.store.totalCodeSize(projectId)).toBe(200);
    });
  });

  describe("aliases", () => {
    it("creates once, replaces, lists in creation order and deletes", async () => {
      const { fn } = await newFunction();
      const other = await newFunction(fn.projectId, "other");
      const b = alias(fn.id, "b", "latest");
      const a = {
        ...alias(fn.id, "a", "latest"),
        additionalVersionStrategy: {
          "1": {
            combineType: "and" as const,
            rules: [{ ruleType: "header" as const, param: "x", op: "=" as const, value: "y" }],
          },
        },
      };
      const c = alias(fn.id, "c", "latest");
      for (const x of [b, a, c]) expect(await s.store.createAlias(x)).toBe(true);
      expect(await s.store.createAlias({ ...a, version: "9" })).toBe(false);
      expect(await s.store.getAlias(fn.id, "a")).toEqual(a);
      expect(await s.store.createAlias(alias(other.fn.id, "a", "latest"))).toBe(true);
      expect(await s.store.listAliases(fn.id)).toEqual([b, a, c]);
      const a2 = { ...a, version: "1", description: "moved", additionalVersionWeights: { "2": 5 } };
      await s.store.putAlias(a2);
      expect(await s.store.getAlias(fn.id, "a")).toEqual(a2);
      expect(await s.store.listAliases(fn.id)).toEqual([b, a2, c]);
      // putAlias only replaces: a missing alias stays missing.
      await s.store.putAlias(alias(fn.id, "ghost", "latest"));
      expect(await s.store.getAlias(fn.id, "ghost")).toBeUndefined();
      // An alias moved to version 1 now goes with version 1.
      await s.store.putVersion(fnVersion(fn.id, "1"));
      await s.store.deleteVersion(fn.id, "1");
      expect(await s.store.getAlias(fn.id, "a")).toBeUndefined();
      await s.store.deleteAlias(fn.id, "b");
      await s.store.deleteAlias(fn.id, "b");
      expect(await s.store.listAliases(fn.id)).toEqual([c]);
      expect(await s.store.getAlias(other.fn.id, "a")).toBeDefined();
      await expect(s.store.createAlias(alias(randomUUID(), "x", "latest"))).rejects.toThrow();
    });
  });

  // Ids of version 7 (what the platform mints) are stored many to a row in SQLite, any other id
  // one per row: both must behave the same.
  describe.each(["v4", "v7"] as const)("invocation records, %s request ids", (kind) => {
    const record = (functionId: string, startedAt = "2026-01-01T00:00:00.000Z") => ({
      ...invocation(functionId),
      requestId: kind === "v7" ? newRequestId(Date.parse(startedAt)) : randomUUID(),
      startedAt,
    });

    it("adds, replaces by request id and reads records", async () => {
      const { fn } = await newFunction();
      const r = record(fn.id);
      await s.store.addInvocation(r);
      expect(await s.store.getInvocation(r.requestId)).toEqual(r);
      const r2 = { ...r, status: "error" as const, errorCode: 4205, log: "second" };
      await s.store.addInvocation(r2);
      expect(await s.store.getInvocation(r.requestId)).toEqual(r2);
      // Replaced within one batch too (an async retry that lands in the same write).
      const r3 = { ...r2, log: "third" };
      await s.store.addInvocations([{ ...r2, log: "lost" }, record(fn.id), r3]);
      expect(await s.store.getInvocation(r.requestId)).toEqual(r3);
      expect(await s.store.getInvocation(record(fn.id).requestId)).toBeUndefined();
      expect(await s.store.getInvocation(randomUUID())).toBeUndefined();
    });

    it("prunes the records of calls that started before a time", async () => {
      const { fn } = await newFunction();
      const older = record(fn.id, "2019-12-31T23:59:59.999Z");
      const old = record(fn.id, "2020-01-01T12:00:00.000Z");
      const edge = record(fn.id, "2020-01-02T00:00:00.000Z");
      const recent = record(fn.id, "2026-01-01T00:00:00.000Z");
      await s.store.addInvocations([older, old, edge, recent]);
      expect(await s.store.pruneInvocations("2020-01-02T00:00:00.000Z")).toBe(2);
      expect(await s.store.getInvocation(older.requestId)).toBeUndefined();
      expect(await s.store.getInvocation(old.requestId)).toBeUndefined();
      expect(await s.store.getInvocation(edge.requestId)).toEqual(edge);
      expect(await s.store.getInvocation(recent.requestId)).toEqual(recent);
      expect(await s.store.pruneInvocations("2020-01-02T00:00:00.000Z")).toBe(0);
    });

    it("adds a batch of records in one call, of several functions", async () => {
      const { fn } = await newFunction();
      const other = await newFunction();
      const batch = [record(fn.id), record(other.fn.id), record(fn.id), record(fn.id)];
      await s.store.addInvocations(batch);
      for (const r of batch) expect(await s.store.getInvocation(r.requestId)).toEqual(r);
      await s.store.addInvocations([]);
      // A function's records go with it; the other's stay.
      await s.store.deleteFunction(fn.id);
      expect(await s.store.getInvocation(batch[0]!.requestId)).toBeUndefined();
      expect(await s.store.getInvocation(batch[1]!.requestId)).toEqual(batch[1]);
    });
  });

  describe("triggers", () => {
    it("creates, reads, updates only the mutable fields, lists and deletes", async () => {
      const { fn } = await newFunction();
      const other = await newFunction(fn.projectId, "other");
      const t1 = trigger(fn, { createdAt: 2000, updatedAt: 2000 });
      const t2 = trigger(fn, { createdAt: 1000, qualifier: "!a1", type: "APIG" });
      const t3 = trigger(fn, { createdAt: 2000, internal: { appKey: "k" } });
      const t4 = trigger(other.fn, { createdAt: 500, type: "KAFKA" });
      for (const x of [t1, t2, t3, t4]) expect(await s.triggers.create(x)).toBe(true);
      expect(await s.triggers.get(t3.id)).toEqual(t3);
      expect(await s.triggers.get(randomUUID())).toBeUndefined();
      expect((await s.triggers.listByFunction(fn.id)).map((x) => x.id)).toEqual([
        t2.id,
        t1.id,
        t3.id,
      ]);
      expect(await s.triggers.listByFunction(fn.id, "latest")).toEqual([t1, t3]);
      expect(await s.triggers.listByFunction(fn.id, "1")).toEqual([]);
      const mine = new Set([t1.id, t2.id, t3.id, t4.id]);
      const all = (await s.triggers.listAll()).filter((x) => mine.has(x.id));
      expect(all.map((x) => x.id)).toEqual([t4.id, t2.id, t1.id, t3.id]);
      const some = (await s.triggers.listAll(["APIG", "KAFKA"])).filter((x) => mine.has(x.id));
      expect(some.map((x) => x.id)).toEqual([t4.id, t2.id]);

      await s.triggers.put({
        ...t1,
        status: "DISABLED",
        eventData: { name: "t", schedule: "2m" },
        internal: { x: [1] },
        updatedAt: 3000,
        qualifier: "ignored",
        type: "IGNORED",
        createdAt: 1,
      });
      expect(await s.triggers.get(t1.id)).toEqual({
        ...t1,
        status: "DISABLED",
        eventData: { name: "t", schedule: "2m" },
        internal: { x: [1] },
        updatedAt: 3000,
      });
      expect(await s.triggers.delete(t1.id)).toBe(true);
      expect(await s.triggers.delete(t1.id)).toBe(false);
      expect(await s.triggers.get(t1.id)).toBeUndefined();
      await expect(s.triggers.create(t2)).rejects.toThrow();
      await expect(s.triggers.create(trigger(fnRecord("p", "gone")))).rejects.toThrow();
    });

    it("runs the conflict check against every trigger, one create at a time", async () => {
      const { fn } = await newFunction();
      const path = `/${uid()}`;
      const sameRoute = (existing: TriggerRecord[]) =>
        existing.some((x) => x.eventData["path"] === path);
      const attempts = [0, 1, 2, 3, 4].map(() =>
        trigger(fn, { type: "APIG", eventData: { path } }),
      );
      const won = await Promise.all(attempts.map((x) => s.triggers.create(x, sameRoute)));
      expect(won.filter(Boolean)).toHaveLength(1);
      const stored = (await s.triggers.listByFunction(fn.id)).filter(
        (x) => x.eventData["path"] === path,
      );
      expect(stored).toHaveLength(1);
      let seen: TriggerRecord[] = [];
      expect(
        await s.triggers.create(trigger(fn), (existing) => {
          seen = existing;
          return false;
        }),
      ).toBe(true);
      expect(seen.map((x) => x.id)).toContain(stored[0]!.id);
    });

    it("claims each timer point once and only forward", async () => {
      const { fn } = await newFunction();
      const t = trigger(fn);
      await s.triggers.create(t);
      expect(await s.triggers.lastFired(t.id)).toBeUndefined();
      const claims = await Promise.all(
        [0, 1, 2, 3, 4].map(() => s.triggers.claimFire(t.id, 60_000)),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await s.triggers.lastFired(t.id)).toBe(60_000);
      expect(await s.triggers.claimFire(t.id, 30_000)).toBe(false);
      expect(await s.triggers.claimFire(t.id, 120_000)).toBe(true);
      expect(await s.triggers.lastFired(t.id)).toBe(120_000);
      await s.triggers.setLastFired(t.id, 10_000); // backwards too
      expect(await s.triggers.lastFired(t.id)).toBe(10_000);
      const fresh = trigger(fn);
      await s.triggers.create(fresh);
      await s.triggers.setLastFired(fresh.id, 1_767_225_600_000);
      expect(await s.triggers.lastFired(fresh.id)).toBe(1_767_225_600_000);
      expect(await s.triggers.delete(t.id)).toBe(true);
      expect(await s.triggers.lastFired(t.id)).toBeUndefined();
    });
  });

  describe("dependencies", () => {
    it("numbers versions per dependency and reads them back", async () => {
      const projectId = `p${uid()}`;
      const v1 = await s.dependencies.addVersion(projectId, depVersion("lib"));
      expect(v1).toMatchObject({ version: 1, name: "lib" });
      const v2 = await s.dependencies.addVersion(
        projectId,
        depVersion("lib", { runtime: "Python3.10" }),
      );
      expect(v2).toMatchObject({ version: 2, dependencyId: v1!.dependencyId });
      expect(v2!.id).not.toBe(v1!.id);
      expect(
        await s.dependencies.addVersion(projectId, depVersion("lib"), { mustBeNew: true }),
      ).toBeUndefined();
      const other = await s.dependencies.addVersion(`p${uid()}`, depVersion("lib"), {
        mustBeNew: true,
      });
      expect(other).toMatchObject({ version: 1 });
      expect(other!.dependencyId).not.toBe(v1!.dependencyId);
      expect(await s.dependencies.getVersionById(v2!.id)).toEqual({ projectId, version: v2 });
      expect(await s.dependencies.getVersion(v1!.dependencyId, 1)).toEqual({
        projectId,
        version: v1,
      });
      expect(await s.dependencies.getVersion(v1!.dependencyId, 3)).toBeUndefined();
      expect(await s.dependencies.getVersionById(randomUUID())).toBeUndefined();
      expect(await s.dependencies.getDependencyProject(v1!.dependencyId)).toBe(projectId);
      expect(await s.dependencies.getDependencyProject(randomUUID())).toBeUndefined();
      const page = await s.dependencies.listVersions(v1!.dependencyId, { offset: 0, limit: 1 });
      expect(page).toEqual({ items: [v2], total: 2 });
      expect(await s.dependencies.listVersions(v1!.dependencyId, { offset: 1, limit: 5 })).toEqual({
        items: [v1],
        total: 2,
      });
      expect(await s.dependencies.isDigestReferenced(v1!.digest)).toBe(true);
      expect(await s.dependencies.isDigestReferenced("nope")).toBe(false);
    });

    it("gives concurrent uploads of one name distinct numbers", async () => {
      const projectId = `p${uid()}`;
      const got = await Promise.all(
        [0, 1, 2, 3, 4].map(() => s.dependencies.addVersion(projectId, depVersion("race"))),
      );
      expect(got.map((v) => v!.version).sort()).toEqual([1, 2, 3, 4, 5]);
      expect(new Set(got.map((v) => v!.dependencyId)).size).toBe(1);
    });

    it("lists the newest version per dependency: public first, by name, with filters", async () => {
      const projectId = `p${uid()}`;
      const tag = uid();
      const add = (p: string, name: string, over: Partial<NewDependencyVersion> = {}) =>
        s.dependencies.addVersion(p, depVersion(`${name}-${tag}`, over));
      await add(projectId, "b");
      const bNew = await add(projectId, "b", { runtime: "Python3.10" });
      const big = await add(projectId, "B");
      const a = await add(projectId, "a");
      const pub = await add("", "z-public");
      await add(`p${uid()}`, "a"); // someone else's
      const list = (q: {
        scope: "private" | "public" | "all";
        runtime?: string;
        name?: string;
        offset?: number;
        limit?: number;
      }) => s.dependencies.listDependencies({ projectId, offset: 0, limit: 100, name: tag, ...q });
      expect(await list({ scope: "all" })).toEqual({ items: [pub, big, a, bNew], total: 4 });
      expect(await list({ scope: "private" })).toEqual({ items: [big, a, bNew], total: 3 });
      expect(await list({ scope: "public" })).toEqual({ items: [pub], total: 1 });
      expect(await list({ scope: "all", offset: 1, limit: 2 })).toEqual({
        items: [big, a],
        total: 4,
      });
      expect(await list({ scope: "all", runtime: "Python3.10" })).toEqual({
        items: [bNew],
        total: 1,
      });
      expect((await list({ scope: "all", name: `b-${tag}` })).items).toEqual([bNew]);
      expect((await list({ scope: "all", name: `B-${tag}` })).items).toEqual([big]);
    });

    it("deletes an unused version, keeps a used one, and drops the dependency with its last version", async () => {
      const projectId = `p${uid()}`;
      const v1 = (await s.dependencies.addVersion(projectId, depVersion("del")))!;
      const v2 = (await s.dependencies.addVersion(projectId, depVersion("del")))!;
      const { fn } = await newFunction(projectId);
      await s.store.putVersion(fnVersion(fn.id, "1", { dependVersionList: ["x", v1.id] }));
      expect(await s.dependencies.isVersionInUse(v1.id)).toBe(true);
      expect(await s.dependencies.isVersionInUse(v2.id)).toBe(false);
      expect(await s.dependencies.deleteVersionIfUnused(v1.id)).toEqual({
        kind: "in-use",
        usedBy: [{ functionId: fn.id, version: "1" }],
      });
      expect(await s.dependencies.deleteVersionIfUnused(v2.id)).toEqual({
        kind: "deleted",
        version: v2,
      });
      expect(await s.dependencies.deleteVersionIfUnused(v2.id)).toEqual({ kind: "missing" });
      expect(await s.dependencies.isDigestReferenced(v2.digest)).toBe(false);
      // Numbers are never reused while the dependency lives.
      const v3 = (await s.dependencies.addVersion(projectId, depVersion("del")))!;
      expect(v3.version).toBe(3);
      await s.store.deleteVersion(fn.id, "1");
      expect(await s.dependencies.deleteVersionIfUnused(v1.id)).toMatchObject({ kind: "deleted" });
      expect(await s.dependencies.deleteVersionIfUnused(v3.id)).toMatchObject({ kind: "deleted" });
      expect(await s.dependencies.getDependencyProject(v1.dependencyId)).toBeUndefined();
      const again = (await s.dependencies.addVersion(projectId, depVersion("del"), {
        mustBeNew: true,
      }))!;
      expect(again.version).toBe(1);
      expect(again.dependencyId).not.toBe(v1.dependencyId);
    });
  });

  describe("reserved instances", () => {
    it("puts (replacing in place), lists oldest first, per project, and deletes", async () => {
      const { fn } = await newFunction();
      const other = await newFunction();
      const a = reservedConfig(fn, "latest");
      const b = { ...reservedConfig(fn, "prod"), qualifierType: "alias" as const };
      const c = reservedConfig(other.fn, "1");
      for (const x of [a, b, c]) await s.reserved.put(x);
      expect(await s.reserved.list(fn.projectId)).toEqual([a, b]);
      const a2: ReservedConfig = {
        ...a,
        count: 3,
        idleMode: true,
        cronConfigs: [
          { name: "day", cron: "0 0 8 * * ?", count: 2, startTime: 1, expiredTime: 2_000_000_000 },
        ],
        metricConfigs: [{ name: "m", type: "Concurrency", threshold: 60, min: 1 }],
        updatedAt: 1_767_225_600,
      };
      await s.reserved.put(a2);
      expect(await s.reserved.list(fn.projectId)).toEqual([a2, b]);
      const mine = new Set([fn.id, other.fn.id]);
      expect((await s.reserved.list()).filter((x) => mine.has(x.functionId))).toEqual([a2, b, c]);
      await s.reserved.delete(fn.id, "latest");
      await s.reserved.delete(fn.id, "latest");
      expect(await s.reserved.list(fn.projectId)).toEqual([b]);
      expect(await s.reserved.list(`p${uid()}`)).toEqual([]);
      await expect(
        s.reserved.put(reservedConfig(fnRecord("p", "gone"), "latest")),
      ).rejects.toThrow();
    });
  });

  describe("reopening", () => {
    it("keeps everything and applies no migration twice", async () => {
      const { fn, latest } = await newFunction();
      await s.store.createAlias(alias(fn.id, "a", "latest"));
      const tr = trigger(fn);
      await s.triggers.create(tr);
      const identity = await s.store.loadIdentity();
      await s.close();
      s = await t.open();
      expect(await s.store.loadIdentity()).toEqual(identity);
      expect(await s.store.getFunctionById(fn.id)).toEqual(fn);
      expect(await s.store.listVersions(fn.id)).toEqual([latest]);
      expect(await s.store.listAliases(fn.id)).toHaveLength(1);
      expect(await s.triggers.get(tr.id)).toEqual(tr);
      // New rows still sort after the old ones.
      await s.store.putVersion(fnVersion(fn.id, "1"));
      expect((await s.store.listVersions(fn.id)).map((v) => v.version)).toEqual(["latest", "1"]);
    });
  });
}

function reservedConfig(fn: FunctionRecord, qualifier: string): ReservedConfig {
  return {
    projectId: fn.projectId,
    functionId: fn.id,
    qualifier,
    qualifierType: "version",
    count: 1,
    idleMode: false,
    cronConfigs: [],
    metricConfigs: [],
    updatedAt: 1000,
  };
}

export function invocation(functionId: string): InvocationRecord {
  return {
    requestId: randomUUID(),
    functionId,
    version: "latest",
    alias: "",
    kind: "sync",
    instanceId: "i",
    status: "success",
    errorCode: 0,
    startedAt: "2026-01-01T00:00:00.000Z",
    durationMs: 1.5,
    billingMs: 2,
    memoryUsedMb: 30,
    coldStart: true,
    timings: { init: 3 },
    log: "hello\n",
  };
}
