import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { versionsApi } from "../api/versions-helpers.js";
import { startTestPlatform, type TestPlatform } from "../helpers/platform.js";
import { dropSchema, PG_URL, postgresReachable, schemaUrl, uniqueSchema } from "./pg-helpers.js";

const reachable = await postgresReachable();

/** The whole platform on FNGRAPH_STORE=postgres://…, restarted on the same schema. */
describe.skipIf(!reachable)("platform on PostgreSQL", () => {
  const schema = uniqueSchema("t_platform");
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "fngraph-pg-platform-"));
  let t: TestPlatform | undefined;
  afterAll(async () => {
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
    await dropSchema(schema);
  });

  const start = () => startTestPlatform({ store: schemaUrl(schema), dataDir });

  it("creates, publishes and invokes, then does it again after a restart", async () => {
    t = await start();
    const api = versionsApi(t);
    await api.createWithVersions("pg-fn", ["one", "two"]);
    const alias = await t.api("POST", api.fnPath("pg-fn") + "/aliases", {
      name: "prod",
      version: "v1",
    });
    expect(alias.status, alias.text).toBe(200);
    expect((await api.invoke("pg-fn", ":latest")).answer.tag).toBe("two");
    expect((await api.invoke("pg-fn", ":prod")).answer).toMatchObject({
      tag: "one",
      alias: "prod",
    });

    // The metadata is in PostgreSQL, not in a SQLite file of the data dir.
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      const n = await c.query(`SELECT count(*)::int AS n FROM ${schema}.versions`);
      expect(n.rows[0]).toEqual({ n: 3 });
    } finally {
      await c.end();
    }

    const projectId = t.projectId;
    await t.close();
    t = await start();
    expect(t.projectId).toBe(projectId);
    const again = versionsApi(t);
    const list = await t.api("GET", t.v2("/fgs/functions"));
    expect(list.status, list.text).toBe(200);
    expect(
      (list.json as { functions: { func_name: string }[] }).functions.map((f) => f.func_name),
    ).toEqual(["pg-fn"]);
    expect((await again.invoke("pg-fn", ":latest")).answer.tag).toBe("two");
    expect((await again.invoke("pg-fn", ":v2")).answer.tag).toBe("two");
    expect((await again.invoke("pg-fn", ":prod")).answer).toMatchObject({
      tag: "one",
      alias: "prod",
    });

    const del = await t.api("DELETE", again.fnPath("pg-fn"));
    expect(del.status, del.text).toBe(204);
    expect((await t.api("GET", again.fnPath("pg-fn", ":latest") + "/config")).status).toBe(404);
  });
});
