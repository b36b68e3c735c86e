import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NODE_ECHO, startTestPlatform, type TestPlatform } from "../helpers/platform.js";
import { errorCode, triggersApi, type TriggerModel } from "./helpers.js";

let dataDir: string;
let t: TestPlatform;
let api: ReturnType<typeof triggersApi>;

const timer = (name: string, schedule = "1d", extra: Record<string, unknown> = {}) => ({
  trigger_type_code: "TIMER",
  event_data: { name, schedule_type: "Rate", schedule, ...extra },
});

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "fngraph-trig-api-"));
  t = await startTestPlatform({ dataDir });
  api = triggersApi(t);
  await api.createFn("trg-crud", NODE_ECHO);
  await api.createFn("trg-stored", NODE_ECHO);
  await api.createFn("trg-quota", NODE_ECHO);
});
afterAll(async () => {
  await t?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("trigger API", () => {
  it("creates (201), shows, lists as a bare array, updates and deletes", async () => {
    const urn = api.urn("trg-crud");
    const c = await api.mustCreate(urn, timer("warm", "3m", { user_event: '{"a":1}' }));
    expect(c).toMatchObject({
      trigger_type_code: "TIMER",
      trigger_status: "ACTIVE",
      event_data: {
        name: "warm",
        schedule_type: "Rate",
        schedule: "3m",
        user_event: '{"a":1}',
        status: "ACTIVE",
      },
    });
    expect(c.trigger_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(c.created_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);

    const show = await t.api("GET", t.v2(`/fgs/triggers/${urn}/TIMER/${c.trigger_id}`));
    expect(show.status, show.text).toBe(200);
    expect(show.json).toMatchObject({ trigger_id: c.trigger_id });

    const list = await t.api("GET", t.v2(`/fgs/triggers/${urn}`));
    expect(list.status).toBe(200);
    expect(Array.isArray(list.json)).toBe(true);
    expect((list.json as TriggerModel[]).map((x) => x.trigger_id)).toEqual([c.trigger_id]);

    const up = await t.api("PUT", t.v2(`/fgs/triggers/${urn}/TIMER/${c.trigger_id}`), {
      trigger_status: "DISABLED",
    });
    expect(up.status, up.text).toBe(200);
    expect(up.json).toMatchObject({
      trigger_status: "DISABLED",
      event_data: { status: "DISABLE" },
    });

    const wrongType = await t.api("GET", t.v2(`/fgs/triggers/${urn}/APIG/${c.trigger_id}`));
    expect(wrongType.status).toBe(404);
    expect(errorCode(wrongType)).toBe("FSS.1131");

    const del = await t.api("DELETE", t.v2(`/fgs/triggers/${urn}/TIMER/${c.trigger_id}`));
    expect(del.status).toBe(204);
    const gone = await t.api("GET", t.v2(`/fgs/triggers/${urn}/TIMER/${c.trigger_id}`));
    expect(errorCode(gone)).toBe("FSS.1131");
  });

  it("answers the contract's codes for bad input", async () => {
    const urn = api.urn("trg-crud");
    const cases: [Record<string, unknown>, number, string][] = [
      [{ trigger_type_code: "NOPE", event_data: {} }, 400, "FSS.1101"],
      [{ event_data: {} }, 400, "FSS.1101"],
      [timer("bad", "61m"), 400, "FSS.1109"],
      [
        {
          trigger_type_code: "TIMER",
          event_data: { name: "c", schedule_type: "Cron", schedule: "0 0 25 * * ?" },
        },
        400,
        "FSS.1109",
      ],
      [
        {
          trigger_type_code: "TIMER",
          event_data: { name: "c", schedule_type: "Cron", schedule: "@every" },
        },
        400,
        "FSS.1109",
      ],
      [
        { trigger_type_code: "APIG", event_data: { path: "no-slash", auth: "NONE" } },
        400,
        "FSS.1107",
      ],
      [
        { trigger_type_code: "APIG", event_data: { path: "/x", req_method: "FETCH" } },
        400,
        "FSS.1107",
      ],
      [
        { trigger_type_code: "OBS", event_data: { bucket: "b", events: ["Nope"] } },
        400,
        "FSS.1106",
      ],
      [{ trigger_type_code: "SMN", event_data: {} }, 400, "FSS.1102"],
      [
        {
          trigger_type_code: "KAFKA",
          event_data: { instance_id: "i", topic_ids: ["t"], kafka_ssl_enable: true },
        },
        400,
        "FSS.1113",
      ],
      [{ trigger_type_code: "RABBITMQ", event_data: { exchange_name: "x" } }, 400, "FSS.1103"],
      [{ trigger_type_code: "DIS", event_data: { stream_name: "s" } }, 400, "FSS.1104"],
      [{ trigger_type_code: "TIMER", trigger_status: "PAUSED", event_data: {} }, 400, "FSS.0400"],
    ];
    for (const [body, status, code] of cases) {
      const r = await api.create(urn, body);
      expect([r.status, errorCode(r)], JSON.stringify(body)).toEqual([status, code]);
    }
    const missingFn = await api.create(api.urn("no-such-fn"), timer("x"));
    expect(errorCode(missingFn)).toBe("FSS.1051");
    const dupe = await api.mustCreate(urn, timer("twice"));
    const again = await api.create(urn, timer("twice"));
    expect([again.status, errorCode(again)]).toEqual([409, "FSS.1148"]);
    await t.api("DELETE", t.v2(`/fgs/triggers/${urn}/TIMER/${dupe.trigger_id}`));
  });

  it("limits a version to 10 triggers and deletes all of a function", async () => {
    const urn = api.urn("trg-quota");
    for (let i = 0; i < 10; i++) await api.mustCreate(urn, timer(`t${i}`));
    const over = await api.create(urn, timer("t10"));
    expect([over.status, errorCode(over)]).toEqual([403, "FSS.1123"]);
    const del = await t.api("DELETE", t.v2(`/fgs/triggers/${urn}`));
    expect(del.status).toBe(204);
    const list = await t.api("GET", t.v2(`/fgs/triggers/${urn}`));
    expect(list.json).toEqual([]);
  });

  it("stores KAFKA, OBS, SMN, LTS, CTS and DDS triggers with their event_data", async () => {
    const urn = api.urn("trg-stored");
    const bodies: Record<string, Record<string, unknown>> = {
      KAFKA: {
        instance_id: "inst-1",
        topic_ids: ["topic-a"],
        batch_size: 50,
        kafka_user: "u",
        kafka_password: "secret",
        kafka_ssl_enable: true,
      },
      OBS: {
        bucket: "photos",
        events: ["ObjectCreated"],
        prefix: "in/",
        suffix: ".jpg",
        name: "n1",
      },
      SMN: { topic_urn: "urn:smn:local-1:p:topic" },
      LTS: { log_group_id: "g1", log_topic_id: "t1" },
      CTS: { name: "watch", operations: ["ECS:ecs;server:restartServer;deleteServer"] },
      DDS: {
        instance_id: "dds-1",
        collection_name: "person",
        db_name: "app",
        db_password: "pw",
        batch_size: 10,
      },
    };
    for (const [type, data] of Object.entries(bodies)) {
      const c = await api.mustCreate(urn, { trigger_type_code: type, event_data: data });
      expect(c.trigger_status).toBe(type === "KAFKA" || type === "DDS" ? "DISABLED" : "ACTIVE");
      const { kafka_password: _k, db_password: _d, ...visible } = data;
      expect(c.event_data).toMatchObject(visible);
      expect(c.event_data).not.toHaveProperty("kafka_password");
      expect(c.event_data).not.toHaveProperty("db_password");
    }
    const overlap = await api.create(urn, {
      trigger_type_code: "OBS",
      event_data: {
        bucket: "photos",
        events: ["s3:ObjectCreated:Put"],
        prefix: "in/sub",
        suffix: ".jpg",
      },
    });
    expect([overlap.status, errorCode(overlap)]).toEqual([403, "FSS.1108"]);
    const list = await t.api("GET", t.v2(`/fgs/triggers/${urn}`));
    expect((list.json as TriggerModel[]).map((x) => x.trigger_type_code)).toEqual(
      Object.keys(bodies),
    );
  });

  it("binds triggers to versions and aliases; an alias with triggers cannot be deleted", async () => {
    const base = `/fgs/functions/${api.urn("trg-crud")}`;
    expect((await t.api("POST", t.v2(`${base}/versions`), { version: "v1" })).status).toBe(200);
    expect(
      (await t.api("POST", t.v2(`${base}/aliases`), { name: "prod", version: "v1" })).status,
    ).toBe(200);
    const onAlias = await api.mustCreate(api.urn("trg-crud", ":!prod"), timer("alias-timer"));
    await api.mustCreate(api.urn("trg-crud", ":v1"), timer("v1-timer"));
    const latest = await t.api("GET", t.v2(`/fgs/triggers/${api.urn("trg-crud")}`));
    expect(latest.json).toEqual([]);
    const aliasList = await t.api("GET", t.v2(`/fgs/triggers/${api.urn("trg-crud", ":!prod")}`));
    expect((aliasList.json as TriggerModel[]).map((x) => x.trigger_id)).toEqual([
      onAlias.trigger_id,
    ]);
    const delAlias = await t.api("DELETE", t.v2(`${base}/aliases/prod`));
    expect([delAlias.status, errorCode(delAlias)]).toEqual([403, "FSS.1154"]);
  });

  it("keeps triggers across a restart", async () => {
    const urn = api.urn("trg-stored");
    const before = await t.api("GET", t.v2(`/fgs/triggers/${urn}`));
    await t.platform.close();
    t = await startTestPlatform({ dataDir });
    const after = await t.api("GET", t.v2(`/fgs/triggers/${urn}`));
    expect(after.status).toBe(200);
    expect(after.json).toEqual(before.json);
  });
});
