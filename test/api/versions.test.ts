import Database from "better-sqlite3";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, zipFiles, type TestPlatform } from "../helpers/platform.js";
import { taggedCode, versionsApi } from "./versions-helpers.js";
import { invocationLog } from "../../src/invoker/log-format.js";
import { findInvocation } from "../../src/store/sqlite/invocation-rows.js";

let t: TestPlatform;
let api: ReturnType<typeof versionsApi>;
const fnPath = (name: string, q = ""): string => api.fnPath(name, q);
const create = (name: string, tag: string, extra: Record<string, unknown> = {}) =>
  api.create(name, tag, extra);
const setCode = (name: string, tag: string) => api.setCode(name, tag);
const publish = (name: string, body: Record<string, unknown> = {}) => api.publish(name, body);
const invoke = (name: string, q: string, event: Record<string, unknown> = {}) =>
  api.invoke(name, q, event);

beforeAll(async () => {
  t = await startTestPlatform();
  api = versionsApi(t);
});
afterAll(async () => {
  await t.close();
});

describe("versions", () => {
  it("publishes V1, V2, V3 from a changing latest; each keeps running its own code", async () => {
    await create("ver-abc", "A", { user_data: JSON.stringify({ stage: "one" }) });
    const v1 = await publish("ver-abc", { version: "V1", description: "first" });
    expect(v1.status, v1.text).toBe(200);
    const m1 = v1.json as Record<string, unknown>;
    expect(m1["version"]).toBe("V1");
    expect(m1["version_description"]).toBe("first");
    expect(m1["func_urn"]).toBe(`urn:fss:local-1:${t.projectId}:function:default:ver-abc:V1`);

    await setCode("ver-abc", "B");
    const cfg = await t.api("PUT", fnPath("ver-abc", ":latest") + "/config", {
      user_data: JSON.stringify({ stage: "two" }),
      memory_size: 256,
    });
    expect(cfg.status, cfg.text).toBe(200);
    expect((await publish("ver-abc", { version: "V2" })).status).toBe(200);
    await setCode("ver-abc", "C");
    expect((await publish("ver-abc", { version: "V3" })).status).toBe(200);
    await setCode("ver-abc", "D");

    const expectations: [string, string, string][] = [
      [":V1", "A", "one"],
      [":V2", "B", "two"],
      [":V3", "C", "two"],
      [":latest", "D", "two"],
      ["", "D", "two"],
    ];
    for (const [q, tag, env] of expectations) {
      const { answer, log } = await invoke("ver-abc", q);
      expect(answer.tag).toBe(tag);
      expect(answer.env).toBe(env);
      expect(answer.version).toBe(q === "" ? "latest" : q.slice(1));
      expect(answer.alias).toBe("");
      expect(log).toContain(`version: ${q === "" ? "latest" : q.slice(1)}\n`);
    }

    // The snapshot kept its configuration and code digest.
    const g1 = await t.api("GET", fnPath("ver-abc", ":V1") + "/config");
    const g2 = await t.api("GET", fnPath("ver-abc", ":V2") + "/config");
    const gl = await t.api("GET", fnPath("ver-abc", ":latest") + "/code");
    const c1 = await t.api("GET", fnPath("ver-abc", ":V1") + "/code");
    expect((g1.json as Record<string, unknown>)["memory_size"]).toBe(128);
    expect((g2.json as Record<string, unknown>)["memory_size"]).toBe(256);
    expect((g1.json as Record<string, unknown>)["user_data"]).toBe('{"stage":"one"}');
    expect((c1.json as Record<string, unknown>)["digest"]).not.toBe(
      (gl.json as Record<string, unknown>)["digest"],
    );
    // 4-field short form with a version qualifier.
    const short = await t.api(
      "GET",
      t.v2(`/fgs/functions/${t.projectId}:default:ver-abc:V2/config`),
    );
    expect((short.json as Record<string, unknown>)["version"]).toBe("V2");
  });

  it("lists versions with marker and maxitems", async () => {
    const all = await t.api("GET", fnPath("ver-abc") + "/versions");
    expect(all.status).toBe(200);
    const body = all.json as {
      versions: { version: string }[];
      count: number;
      next_marker: number;
    };
    expect(body.versions.map((v) => v.version)).toEqual(["latest", "V1", "V2", "V3"]);
    expect(body.count).toBe(4);
    expect(body.next_marker).toBe(4);
    const page = await t.api("GET", fnPath("ver-abc") + "/versions?marker=1&maxitems=2");
    const p = page.json as { versions: { version: string }[]; count: number; next_marker: number };
    expect(p.versions.map((v) => v.version)).toEqual(["V1", "V2"]);
    expect(p.next_marker).toBe(3);
    expect(p.count).toBe(4);
    for (const bad of ["maxitems=0", "maxitems=401", "marker=-1", "marker=x"]) {
      const r = await t.api("GET", fnPath("ver-abc") + `/versions?${bad}`);
      expect(r.status).toBe(400);
      expect((r.json as { error_code: string }).error_code).toBe("FSS.1001");
    }
  });

  it("generates vYYYYMMDD-HHMMSS names (UTC)", async () => {
    await create("ver-gen", "A");
    const before = new Date();
    const r = await publish("ver-gen");
    expect(r.status, r.text).toBe(200);
    const name = (r.json as { version: string }).version;
    expect(name).toMatch(/^v\d{8}-\d{6}$/);
    const iso = before.toISOString();
    expect(name.slice(1, 9)).toBe(iso.slice(0, 10).replace(/-/g, ""));
  });

  it("refuses to publish nothing new (1016), a taken name (1062), latest or a bad name (1015)", async () => {
    await create("ver-err", "A");
    expect((await publish("ver-err", { version: "v1" })).status).toBe(200);
    const same = await publish("ver-err", { version: "v2" });
    expect([same.status, (same.json as { error_code: string }).error_code]).toEqual([
      400,
      "FSS.1016",
    ]);
    await setCode("ver-err", "B");
    const dup = await publish("ver-err", { version: "v1" });
    expect([dup.status, (dup.json as { error_code: string }).error_code]).toEqual([
      409,
      "FSS.1062",
    ]);
    for (const bad of ["latest", "-x", "a b", "x".repeat(65)]) {
      const r = await publish("ver-err", { version: bad });
      expect([r.status, (r.json as { error_code: string }).error_code]).toEqual([400, "FSS.1015"]);
    }
    const digest = await publish("ver-err", { version: "v2", digest: "0".repeat(128) });
    expect([digest.status, (digest.json as { error_code: string }).error_code]).toEqual([
      400,
      "FSS.0400",
    ]);
    const long = await publish("ver-err", { version: "v2", description: "d".repeat(513) });
    expect((long.json as { error_code: string }).error_code).toBe("FSS.1019");
    // A config change alone is something new.
    expect((await publish("ver-err", { version: "v2" })).status).toBe(200);
    const cfg = await t.api("PUT", fnPath("ver-err") + "/config", { description: "changed" });
    expect(cfg.status).toBe(200);
    expect((await publish("ver-err", { version: "v3" })).status).toBe(200);
    const none = await t.api("POST", fnPath("nope-fn") + "/versions", {});
    expect([none.status, (none.json as { error_code: string }).error_code]).toEqual([
      404,
      "FSS.1051",
    ]);
  });

  it("keeps published versions immutable: PUT config/code on a version URN is 400 FSS.1015", async () => {
    const zip = await zipFiles(taggedCode("X"));
    const puts = [
      ["/config", { memory_size: 512 }],
      ["/code", { code_type: "zip", func_code: { file: zip.toString("base64") } }],
      ["/config-max-instance", { max_instance_num: 5 }],
    ] as const;
    for (const [p, body] of puts) {
      const r = await t.api("PUT", fnPath("ver-err", ":v1") + p, body);
      expect([r.status, (r.json as { error_code: string }).error_code]).toEqual([400, "FSS.1015"]);
    }
    const missing = await t.api("GET", fnPath("ver-err", ":v9") + "/config");
    expect([missing.status, (missing.json as { error_code: string }).error_code]).toEqual([
      404,
      "FSS.1052",
    ]);
  });

  it("allows at most 20 versions including latest (403)", async () => {
    await create("ver-quota", "A");
    for (let i = 1; i <= 19; i++) {
      const d = await t.api("PUT", fnPath("ver-quota") + "/config", { description: `d${i}` });
      expect(d.status).toBe(200);
      const r = await publish("ver-quota", { version: `v${i}` });
      expect(r.status, r.text).toBe(200);
    }
    await t.api("PUT", fnPath("ver-quota") + "/config", { description: "d20" });
    const over = await publish("ver-quota", { version: "v20" });
    expect([over.status, (over.json as { error_code: string }).error_code]).toEqual([
      403,
      "FSS.0403",
    ]);
    expect((await t.api("DELETE", fnPath("ver-quota", ":v1"))).status).toBe(204);
    expect((await publish("ver-quota", { version: "v20" })).status).toBe(200);
  });

  it("deletes a version (and its aliases) but never latest alone; deleting the function removes all", async () => {
    await create("ver-del", "A");
    await publish("ver-del", { version: "v1" });
    await setCode("ver-del", "B");
    await publish("ver-del", { version: "v2" });
    const a = await t.api("POST", fnPath("ver-del") + "/aliases", { name: "prod", version: "v1" });
    expect(a.status, a.text).toBe(200);
    const latest = await t.api("DELETE", fnPath("ver-del", ":latest"));
    expect([latest.status, (latest.json as { error_code: string }).error_code]).toEqual([
      400,
      "FSS.1015",
    ]);
    expect((await t.api("DELETE", fnPath("ver-del", ":v1"))).status).toBe(204);
    const gone = await t.api("GET", fnPath("ver-del", ":v1") + "/config");
    expect((gone.json as { error_code: string }).error_code).toBe("FSS.1052");
    const alias = await t.api("GET", fnPath("ver-del") + "/aliases/prod");
    expect((alias.json as { error_code: string }).error_code).toBe("FSS.1053");
    // Through an alias: the version it points to goes.
    await t.api("POST", fnPath("ver-del") + "/aliases", { name: "beta", version: "v2" });
    expect((await t.api("DELETE", fnPath("ver-del", ":!beta"))).status).toBe(204);
    expect(
      ((await t.api("GET", fnPath("ver-del") + "/versions")).json as { count: number }).count,
    ).toBe(1);
    const missing = await t.api("DELETE", fnPath("ver-del", ":v7"));
    expect((missing.json as { error_code: string }).error_code).toBe("FSS.1052");

    await publish("ver-del", { version: "v3" });
    await t.api("POST", fnPath("ver-del") + "/aliases", { name: "gamma", version: "v3" });
    expect((await t.api("DELETE", fnPath("ver-del"))).status).toBe(204);
    await create("ver-del", "Z");
    const fresh = await t.api("GET", fnPath("ver-del") + "/versions");
    expect(
      (fresh.json as { versions: { version: string }[] }).versions.map((v) => v.version),
    ).toEqual(["latest"]);
    expect((await t.api("GET", fnPath("ver-del") + "/aliases")).json).toEqual([]);
  });

  it("lets in-flight calls of a deleted version finish", async () => {
    await create("ver-drain", "A");
    await publish("ver-drain", { version: "v1" });
    await invoke("ver-drain", ":v1"); // warm
    const running = invoke("ver-drain", ":v1", { ms: 1500 });
    const inflight = async (): Promise<number> =>
      ((await t.api("GET", "/healthz")).json as { invoker: { inflight: number } }).invoker.inflight;
    await expect.poll(inflight).toBeGreaterThan(0);
    expect((await t.api("DELETE", fnPath("ver-drain", ":v1"))).status).toBe(204);
    const { answer } = await running;
    expect(answer).toMatchObject({ tag: "A", version: "v1" });
    const after = await t.api("POST", fnPath("ver-drain", ":v1") + "/invocations", {});
    expect((after.json as { error_code: string }).error_code).toBe("FSS.1052");
  });

  it("records the version that ran and the alias used", async () => {
    await create("ver-rec", "A");
    await publish("ver-rec", { version: "v1" });
    await t.api("POST", fnPath("ver-rec") + "/aliases", { name: "live", version: "v1" });
    const viaAlias = await invoke("ver-rec", ":!live");
    expect(viaAlias.answer).toMatchObject({ version: "v1", alias: "live" });
    expect(viaAlias.log).toContain(`Start invoke request '${viaAlias.requestId}', version: v1\n`);
    const viaVersion = await invoke("ver-rec", ":v1");
    const db = new Database(path.join(t.dataDir, "fngraph.db"), { readonly: true });
    try {
      const read = (id: string) => findInvocation(db, id);
      await expect
        .poll(
          () => read(viaVersion.requestId) !== undefined && read(viaAlias.requestId) !== undefined,
        )
        .toBe(true);
      expect(read(viaAlias.requestId)).toMatchObject({
        version: "v1",
        alias: "live",
      });
      // Stored without the Start and Finish lines; made again from the record, the whole log is
      // the one the caller got.
      expect(read(viaAlias.requestId)!.log).not.toContain("invoke request");
      expect(invocationLog(read(viaAlias.requestId)!)).toBe(viaAlias.log);
      expect(read(viaVersion.requestId)).toMatchObject({
        version: "v1",
        alias: "",
      });
    } finally {
      db.close();
    }
  });
});
