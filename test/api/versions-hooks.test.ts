import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createBlobStore } from "../../src/blobs/index.js";
import type { BlobStore } from "../../src/blobs/types.js";
import { createFunctionService, type FunctionService } from "../../src/api/function-service.js";
import type { VersionHooks } from "../../src/api/versions-service.js";
import { createSeededRandom } from "../../src/api/alias-router.js";
import type { Clock } from "../../src/core/clock.js";
import type { FunctionVersion } from "../../src/core/types.js";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/index.js";

/** The service wired in-process on a real SQLite file and blob store, with a fixed clock. */
let dir: string;
let store: Store;
let blobs: BlobStore;
let svc: FunctionService;
let events: string[];
let triggers: Record<string, number>;
const retired: string[] = [];
const NOW = Date.UTC(2026, 2, 17, 10, 13, 22);
const clock: Clock = { now: () => NOW, setTimeout: () => ({}), clearTimeout: () => {} };

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "fngraph-vh-"));
  store = createSqliteStore(path.join(dir, "db.sqlite"));
  blobs = await createBlobStore({ dir: path.join(dir, "blobs"), unpack: async () => undefined });
  events = [];
  triggers = {};
  const hooks: VersionHooks = {
    published: async (fn, v) => void events.push(`published ${fn.name}:${v.version}`),
    deleting: async (fn, v) => void events.push(`deleting ${fn.name}:${v ?? "*"}`),
    triggerCount: async (_fn, q) => triggers[q] ?? 0,
  };
  svc = createFunctionService({
    store,
    blobs,
    invoker: { retire: (id, v) => void retired.push(`${id}/${v ?? "*"}`) },
    runtimes: { get: () => undefined, names: () => [] },
    clock,
    region: "local-1",
    defaultMaxInstances: 400,
    hooks,
    random: createSeededRandom(1),
  });
  const { digest, size } = await blobs.put(Buffer.from("code"));
  const latest: FunctionVersion = {
    functionId: "f1",
    version: "latest",
    handler: "index.handler",
    memorySize: 128,
    timeout: 3,
    codeType: "zip",
    codeFilename: "",
    codeUrl: "",
    codeDigest: digest,
    codeSize: size,
    userData: {},
    encryptedUserData: {},
    description: "",
    versionDescription: "",
    initializerHandler: "",
    initializerTimeout: 0,
    preStopHandler: "",
    preStopTimeout: 0,
    strategy: { concurrency: 400, concurrentNum: 1 },
    ephemeralStorage: 512,
    dependVersionList: [],
    extra: {},
    revision: 1,
    lastModified: new Date(NOW).toISOString(),
  };
  await store.createFunction(
    {
      id: "f1",
      projectId: "p1",
      package: "default",
      name: "fn",
      runtime: "Node.js20.15",
      createdAt: "",
    },
    latest,
  );
});
afterEach(async () => {
  await blobs.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("version hooks", () => {
  it("names generated versions vYYYYMMDD-HHMMSS in UTC and calls published", async () => {
    const { version } = await svc.publish("p1", "fn", {});
    expect(version.version).toBe("v20260317-101322");
    expect(events).toEqual(["published fn:v20260317-101322"]);
  });

  it("refuses to delete an alias with triggers (403 FSS.1154)", async () => {
    await svc.publish("p1", "fn", { version: "v1" });
    await svc.createAlias("p1", "fn", { name: "prod", version: "v1" });
    triggers["!prod"] = 1;
    await expect(svc.deleteAlias("p1", "fn", "prod")).rejects.toMatchObject({
      code: "ALIAS_HAS_TRIGGERS",
      status: 403,
      fss: "FSS.1154",
    });
    triggers["!prod"] = 0;
    await svc.deleteAlias("p1", "fn", "prod");
    expect(await store.listAliases("f1")).toEqual([]);
  });

  it("calls deleting for a version and for the whole function, and retires pools", async () => {
    await svc.publish("p1", "fn", { version: "v1" });
    await svc.remove("p1", "p1:default:fn:v1");
    await svc.remove("p1", "fn");
    expect(events).toEqual(["published fn:v1", "deleting fn:v1", "deleting fn:*"]);
    expect(retired.slice(-2)).toEqual(["f1/v1", "f1/*"]);
    expect(await store.getFunction("p1", "default", "fn")).toBeUndefined();
  });

  it("resolves through an alias with the injected random source only for invocations", async () => {
    await svc.publish("p1", "fn", { version: "v1" });
    await store.putVersion({ ...(await store.getVersion("f1", "v1"))!, version: "v2" });
    await svc.createAlias("p1", "fn", {
      name: "live",
      version: "v1",
      additional_version_weights: { v2: 100 },
    });
    expect(
      (await svc.resolve("p1", "fn:!live".replace("fn:", "p1:default:fn:"))).version.version,
    ).toBe("v1");
    const r = await svc.resolve("p1", "p1:default:fn:!live", { headers: {} });
    expect([r.version.version, r.alias, r.route]).toEqual(["v2", "live", "weight"]);
  });
});
