import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../helpers/platform.js";
import { codeOf, versionsApi, type Answer } from "./versions-helpers.js";

let t: TestPlatform;
let api: ReturnType<typeof versionsApi>;
const aliases = (fn: string, name = ""): string =>
  api.fnPath(fn) + "/aliases" + (name ? `/${name}` : "");

beforeAll(async () => {
  t = await startTestPlatform();
  api = versionsApi(t);
  await api.createWithVersions("al-crud", ["A", "B", "C"]);
  await api.createWithVersions("al-err", ["A", "B", "C"]);
  await api.createWithVersions("al-route", ["A", "B", "C"]);
});
afterAll(async () => {
  await t.close();
});

/** `n` invocations of `fn:q`, `concurrency` at a time; counts answers per version. */
async function tally(
  fn: string,
  q: string,
  n: number,
  headers: Record<string, string> = {},
  concurrency = 8,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let done = 0; done < n; done += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, n - done) }, () =>
      t.api("POST", api.fnPath(fn, q) + "/invocations", {}, headers),
    );
    for (const r of await Promise.all(batch)) {
      expect(r.status, r.text).toBe(200);
      const a = r.json as Answer;
      counts[a.version] = (counts[a.version] ?? 0) + 1;
    }
  }
  return counts;
}

describe("aliases", () => {
  it("creates, shows, lists (bare array), updates and deletes", async () => {
    const c = await t.api("POST", aliases("al-crud"), {
      name: "prod",
      version: "v1",
      description: "production",
      additional_version_weights: { v2: 10 },
    });
    expect(c.status, c.text).toBe(200);
    expect(c.json).toMatchObject({
      name: "prod",
      version: "v1",
      description: "production",
      alias_urn: `urn:fss:local-1:${t.projectId}:function:default:al-crud:!prod`,
      additional_version_weights: { v2: 10 },
      additional_version_strategy: {},
    });
    expect((c.json as { last_modified: string }).last_modified).toMatch(/\+00:00$/);

    const rules = {
      v3: {
        combine_type: "or",
        rules: [{ rule_type: "Header", param: "X-Canary", op: "=", value: "yes" }],
      },
    };
    const c2 = await t.api("POST", aliases("al-crud"), {
      name: "beta",
      version: "latest",
      additional_version_strategy: rules,
    });
    expect(c2.status, c2.text).toBe(200);
    const show = await t.api("GET", aliases("al-crud", "beta"));
    expect(show.json).toMatchObject({
      name: "beta",
      version: "latest",
      additional_version_strategy: {
        v3: {
          combine_type: "or",
          rules: [{ rule_type: "header", param: "X-Canary", op: "=", value: "yes" }],
        },
      },
    });

    const list = await t.api("GET", aliases("al-crud"));
    expect(list.status).toBe(200);
    expect(Array.isArray(list.json)).toBe(true);
    const items = list.json as Record<string, unknown>[];
    expect(items.map((a) => a["name"])).toEqual(["prod", "beta"]);
    expect(items[0]).not.toHaveProperty("additional_version_strategy");

    const u = await t.api("PUT", aliases("al-crud", "prod"), { version: "v2" });
    expect(u.status, u.text).toBe(200);
    // PUT replaces the targets; the description is kept when not sent.
    expect(u.json).toMatchObject({
      version: "v2",
      description: "production",
      additional_version_weights: {},
    });

    const d = await t.api("DELETE", aliases("al-crud", "beta"));
    expect(d.status).toBe(204);
    expect(d.text).toBe("");
    const gone = await t.api("GET", aliases("al-crud", "beta"));
    expect([gone.status, codeOf(gone)]).toEqual([404, "FSS.1053"]);
  });

  it("invokes through !alias, a bare alias name and the 4-field form; versions win bare names", async () => {
    const viaBang = await api.invoke("al-crud", ":!prod");
    expect(viaBang.answer).toMatchObject({ tag: "B", version: "v2", alias: "prod" });
    expect(viaBang.log).toContain(", version: v2\n");
    const bare = await api.invoke("al-crud", ":prod");
    expect(bare.answer).toMatchObject({ version: "v2", alias: "prod" });
    const short = await t.api(
      "POST",
      t.v2(`/fgs/functions/${t.projectId}:default:al-crud:!prod/invocations`),
      {},
    );
    expect(short.json).toMatchObject({ version: "v2", alias: "prod" });
    // An alias named like a version: the bare name is the version, `!` the alias.
    expect((await t.api("POST", aliases("al-crud"), { name: "v1", version: "v3" })).status).toBe(
      200,
    );
    expect((await api.invoke("al-crud", ":v1")).answer).toMatchObject({ version: "v1", alias: "" });
    expect((await api.invoke("al-crud", ":!v1")).answer).toMatchObject({
      version: "v3",
      alias: "v1",
    });
    // Config reads through an alias show its main version; writes are refused.
    const cfg = await t.api("GET", api.fnPath("al-crud", ":!prod") + "/config");
    expect((cfg.json as { version: string }).version).toBe("v2");
    const put = await t.api("PUT", api.fnPath("al-crud", ":!prod") + "/config", { timeout: 5 });
    expect([put.status, codeOf(put)]).toEqual([400, "FSS.1015"]);
    const missing = await t.api("POST", api.fnPath("al-crud", ":!nope") + "/invocations", {});
    expect([missing.status, codeOf(missing)]).toEqual([404, "FSS.1053"]);
    const neither = await t.api("POST", api.fnPath("al-crud", ":nope") + "/invocations", {});
    expect([neither.status, codeOf(neither)]).toEqual([404, "FSS.1052"]);
  });

  it("answers every alias error code", async () => {
    const post = (body: Record<string, unknown>) => t.api("POST", aliases("al-err"), body);
    const cases: [Record<string, unknown>, number, string][] = [
      [{ version: "v1" }, 400, "FSS.1014"],
      [{ name: "1abc", version: "v1" }, 400, "FSS.1014"],
      [{ name: "ab-", version: "v1" }, 400, "FSS.1014"],
      [{ name: "latest", version: "v1" }, 400, "FSS.1014"],
      [{ name: "a".repeat(65), version: "v1" }, 400, "FSS.1014"],
      [{ name: "a1" }, 400, "FSS.1015"],
      [{ name: "a1", version: "v9" }, 404, "FSS.1052"],
      [{ name: "a1", version: "v1", additional_version_weights: { v9: 10 } }, 400, "FSS.1091"],
      [{ name: "a1", version: "v1", additional_version_weights: { latest: 10 } }, 400, "FSS.1091"],
      [
        { name: "a1", version: "v1", additional_version_weights: { v2: 10, v3: 10 } },
        400,
        "FSS.1091",
      ],
      [
        {
          name: "a1",
          version: "v1",
          additional_version_weights: { v2: 10 },
          additional_version_strategy: {
            v3: {
              combine_type: "and",
              rules: [{ rule_type: "header", param: "a", op: "=", value: "1" }],
            },
          },
        },
        400,
        "FSS.1091",
      ],
      [{ name: "a1", version: "v1", additional_version_weights: { v2: 101 } }, 400, "FSS.1092"],
      [{ name: "a1", version: "v1", additional_version_weights: { v2: -1 } }, 400, "FSS.1092"],
      [{ name: "a1", version: "v1", additional_version_weights: { v2: 1.5 } }, 400, "FSS.1092"],
      [{ name: "a1", version: "v1", additional_version_weights: { v2: "5" } }, 400, "FSS.1092"],
      [{ name: "a1", version: "v1", additional_version_weights: { v1: 10 } }, 400, "FSS.1093"],
      [
        {
          name: "a1",
          version: "v1",
          additional_version_strategy: {
            v2: {
              combine_type: "xor",
              rules: [{ rule_type: "header", param: "a", op: "=", value: "1" }],
            },
          },
        },
        400,
        "FSS.0400",
      ],
      [
        {
          name: "a1",
          version: "v1",
          additional_version_strategy: {
            v2: { rules: [{ rule_type: "query", param: "a", op: "=", value: "1" }] },
          },
        },
        400,
        "FSS.0400",
      ],
      [
        {
          name: "a1",
          version: "v1",
          additional_version_strategy: {
            v2: { rules: [{ rule_type: "header", param: "a", op: "!=", value: "1" }] },
          },
        },
        400,
        "FSS.0400",
      ],
      [{ name: "a1", version: "v1", description: "d".repeat(513) }, 400, "FSS.1019"],
    ];
    for (const [body, status, code] of cases) {
      const r = await post(body);
      expect([r.status, codeOf(r)], JSON.stringify(body)).toEqual([status, code]);
    }

    expect(
      (await post({ name: "a1", version: "v1", additional_version_weights: { v2: 50 } })).status,
    ).toBe(200);
    const dup = await post({ name: "a1", version: "v3" });
    expect([dup.status, codeOf(dup)]).toEqual([409, "FSS.1063"]);
    const bound = await post({ name: "a2", version: "v1" });
    expect([bound.status, codeOf(bound)]).toEqual([409, "FSS.1066"]);
    expect((await post({ name: "a2", version: "v2" })).status).toBe(200);
    const boundOnUpdate = await t.api("PUT", aliases("al-err", "a2"), { version: "v1" });
    expect([boundOnUpdate.status, codeOf(boundOnUpdate)]).toEqual([409, "FSS.1066"]);
    const badUpdate = await t.api("PUT", aliases("al-err", "a2"), {
      version: "v2",
      additional_version_weights: { v2: 5 },
    });
    expect([badUpdate.status, codeOf(badUpdate)]).toEqual([400, "FSS.1093"]);
    for (const method of ["GET", "PUT", "DELETE"]) {
      const r = await t.api(
        method,
        aliases("al-err", "zz"),
        method === "PUT" ? { version: "v1" } : undefined,
      );
      expect([r.status, codeOf(r)], method).toEqual([404, "FSS.1053"]);
    }

    // v2 is a1's additional version: it cannot be deleted, by version or through alias a2.
    for (const q of [":v2", ":!a2"]) {
      const del = await t.api("DELETE", api.fnPath("al-err", q));
      expect([del.status, codeOf(del)], q).toEqual([403, "FSS.1094"]);
    }

    // 10 aliases at most: a1, a2 and eight more, each on its own version.
    for (let i = 3; i <= 10; i++) {
      const d = await t.api("PUT", api.fnPath("al-err") + "/config", { description: `x${i}` });
      expect(d.status).toBe(200);
      expect((await api.publish("al-err", { version: `w${i}` })).status).toBe(200);
      const r = await post({ name: `a${i}`, version: `w${i}` });
      expect(r.status, r.text).toBe(200);
    }
    const over = await post({ name: "a11", version: "v3" });
    expect([over.status, codeOf(over)]).toEqual([403, "FSS.1043"]);
  });

  it("moves traffic by weight: 0%, 30% over 2,000 calls, 100%, then a full switch", async () => {
    const c = await t.api("POST", aliases("al-route"), {
      name: "live",
      version: "v1",
      additional_version_weights: { v2: 0 },
    });
    expect(c.status, c.text).toBe(200);
    expect(await tally("al-route", ":!live", 40)).toEqual({ v1: 40 });

    await t.api("PUT", aliases("al-route", "live"), {
      version: "v1",
      additional_version_weights: { v2: 30 },
    });
    const n = 2000;
    const counts = await tally("al-route", ":!live", n);
    expect((counts["v1"] ?? 0) + (counts["v2"] ?? 0)).toBe(n);
    // Binomial sd is 1.02 points; ±5 points is ~5 sd.
    expect(Math.abs(((counts["v2"] ?? 0) / n) * 100 - 30)).toBeLessThanOrEqual(5);

    await t.api("PUT", aliases("al-route", "live"), {
      version: "v1",
      additional_version_weights: { v2: 100 },
    });
    expect(await tally("al-route", ":!live", 40)).toEqual({ v2: 40 });
    // Gray release done: v2 becomes the main version, v3 takes 0%.
    const done = await t.api("PUT", aliases("al-route", "live"), {
      version: "v2",
      additional_version_weights: { v3: 0 },
    });
    expect(done.status, done.text).toBe(200);
    expect(await tally("al-route", ":!live", 24)).toEqual({ v2: 24 });
  });

  it("routes by header rules (= and in, and/or, case-insensitive names) before weights", async () => {
    const c = await t.api("POST", aliases("al-route"), {
      name: "canary",
      version: "v3",
      additional_version_weights: { v1: 0 },
      additional_version_strategy: {
        v1: {
          combine_type: "and",
          rules: [
            { rule_type: "HEADER", param: "X-Canary", op: "=", value: "yes" },
            { rule_type: "header", param: "x-region", op: "in", value: "eu,us" },
          ],
        },
      },
    });
    expect(c.status, c.text).toBe(200);
    const run = async (headers: Record<string, string>) =>
      (await api.invoke("al-route", ":!canary", {}, headers)).answer.version;
    expect(await run({ "x-canary": "yes", "X-REGION": "us" })).toBe("v1");
    expect(await run({ "X-Canary": "yes", "x-region": "eu" })).toBe("v1");
    expect(await run({ "x-canary": "yes", "x-region": "ap" })).toBe("v3");
    expect(await run({ "x-canary": "yes" })).toBe("v3");
    expect(await run({ "x-canary": "YES", "x-region": "eu" })).toBe("v3");
    expect(await run({})).toBe("v3");

    const or = await t.api("PUT", aliases("al-route", "canary"), {
      version: "v3",
      additional_version_strategy: {
        v1: {
          combine_type: "OR",
          rules: [
            { rule_type: "header", param: "x-canary", op: "=", value: "yes" },
            { rule_type: "header", param: "x-region", op: "in", value: "eu,us" },
          ],
        },
      },
    });
    expect(or.status, or.text).toBe(200);
    expect(await run({ "x-region": "us" })).toBe("v1");
    expect(await run({ "x-canary": "yes" })).toBe("v1");
    expect(await run({ "x-region": "cn" })).toBe("v3");
    const r = await api.invoke("al-route", ":!canary", {}, { "x-canary": "yes" });
    expect(r.answer).toMatchObject({ tag: "A", version: "v1", alias: "canary" });
    expect(r.log).toContain(", version: v1\n");
  });
});
