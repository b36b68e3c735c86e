import Database from "better-sqlite3";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createBody,
  NODE_ECHO,
  startTestPlatform,
  type TestPlatform,
} from "../helpers/platform.js";

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t.close();
});

describe("a published version snapshots the async invoke config", () => {
  it("copies latest's async config to the version, and later changes to latest do not reach it", async () => {
    expect(
      (
        await t.api(
          "POST",
          t.v2("/fgs/functions"),
          await createBody("snap-async", "Node.js20.15", NODE_ECHO),
        )
      ).status,
    ).toBe(200);
    const fn = `urn:fss:local-1:${t.projectId}:function:default:snap-async`;
    const put = await t.api("PUT", t.v2(`/fgs/functions/${fn}:latest/async-invoke-config`), {
      max_async_retry_attempts: 3,
      max_async_event_age_in_seconds: 120,
    });
    expect(put.status).toBe(200);

    const pub = await t.api("POST", t.v2(`/fgs/functions/${fn}/versions`), { version: "v1" });
    expect(pub.status).toBe(200);
    expect(pub.json).toMatchObject({
      version: "v1",
      function_async_config: {
        max_async_retry_attempts: 3,
        max_async_event_age_in_seconds: 120,
        func_urn: `${fn}:v1`,
      },
    });

    await t.api("PUT", t.v2(`/fgs/functions/${fn}:latest/async-invoke-config`), {
      max_async_retry_attempts: 0,
      max_async_event_age_in_seconds: 60,
    });
    const v1 = await t.api("GET", t.v2(`/fgs/functions/${fn}:v1/async-invoke-config`));
    expect(v1.status).toBe(200);
    expect(v1.json).toMatchObject({
      max_async_retry_attempts: 3,
      max_async_event_age_in_seconds: 120,
    });
    const latest = await t.api("GET", t.v2(`/fgs/functions/${fn}:latest/async-invoke-config`));
    expect(latest.json).toMatchObject({
      max_async_retry_attempts: 0,
      max_async_event_age_in_seconds: 60,
    });

    expect((await t.api("DELETE", t.v2(`/fgs/functions/${fn}:v1`))).status).toBe(204);
    const db = new Database(path.join(t.dataDir, "fngraph.db"), { readonly: true });
    try {
      const rows = db
        .prepare("SELECT qualifier FROM async_invoke_configs ORDER BY qualifier")
        .all() as { qualifier: string }[];
      expect(rows.map((r) => r.qualifier)).toEqual(["latest"]);
    } finally {
      db.close();
    }
    const republish = await t.api("POST", t.v2(`/fgs/functions/${fn}/versions`), { version: "v1" });
    expect(republish.status).toBe(200);
    const again = await t.api("GET", t.v2(`/fgs/functions/${fn}:v1/async-invoke-config`));
    expect(again.json).toMatchObject({
      max_async_retry_attempts: 0,
      max_async_event_age_in_seconds: 60,
    });
  });

  it("publishes without a config when latest has none", async () => {
    expect(
      (
        await t.api(
          "POST",
          t.v2("/fgs/functions"),
          await createBody("snap-none", "Node.js20.15", NODE_ECHO),
        )
      ).status,
    ).toBe(200);
    const fn = `urn:fss:local-1:${t.projectId}:function:default:snap-none`;
    const pub = await t.api("POST", t.v2(`/fgs/functions/${fn}/versions`), { version: "v1" });
    expect(pub.status).toBe(200);
    expect((pub.json as Record<string, unknown>)["function_async_config"]).toBeUndefined();
    const v1 = await t.api("GET", t.v2(`/fgs/functions/${fn}:v1/async-invoke-config`));
    expect(v1.status).toBe(404);
  });
});
