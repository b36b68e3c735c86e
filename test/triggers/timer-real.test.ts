import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../helpers/platform.js";
import { startCollector, triggersApi, type Collector } from "./helpers.js";

let t: TestPlatform;
let collector: Collector;

beforeAll(async () => {
  collector = await startCollector();
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.close();
  await collector?.close();
});

describe("TIMER on the real clock", () => {
  it("fires an @every 1s timer with its event, and stops when disabled", async () => {
    const api = triggersApi(t);
    await api.createReporter("tm-real", collector);
    const urn = api.urn("tm-real");
    const c = await api.mustCreate(urn, {
      trigger_type_code: "TIMER",
      event_data: {
        name: "every-second",
        schedule_type: "Cron",
        schedule: "@every 1s",
        user_event: "hi",
      },
    });
    await collector.waitFor((e) => e.length >= 3, 60_000);
    const times = collector.events.map((e) => e.event["time"] as string);
    expect(new Set(times).size).toBe(times.length);
    expect(collector.events[0]!.event).toMatchObject({
      version: "v1.0",
      trigger_type: "TIMER",
      trigger_name: "every-second",
      user_event: "hi",
    });
    const off = await t.api("PUT", t.v2(`/fgs/triggers/${urn}/TIMER/${c.trigger_id}`), {
      trigger_status: "DISABLED",
    });
    expect(off.status, off.text).toBe(200);
    // Whatever was already queued may still arrive; after that, nothing.
    await new Promise((r) => setTimeout(r, 3000));
    const settled = collector.events.length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(collector.events.length).toBe(settled);
  }, 90_000);
});
