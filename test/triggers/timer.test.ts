import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import type { FunctionVersion } from "../../src/core/types.js";
import { openStore, type Store } from "../../src/store/index.js";
import {
  openTriggerStore,
  type TriggerRecord,
  type TriggerStore,
} from "../../src/store/triggers.js";
import { createTimerSource } from "../../src/triggers/timer/index.js";
import { nextPoint, parseSchedule } from "../../src/triggers/timer/schedule.js";
import type { Delivery } from "../../src/triggers/types.js";
import { createTimerClock } from "./fake-clock.js";

const T0 = Date.UTC(2024, 0, 1, 0, 0, 0); // a Monday
const MIN = 60_000;

describe("TIMER schedules", () => {
  const next = (type: string, s: string, after: number, anchor = after) =>
    new Date(nextPoint(parseSchedule(type, s), anchor, after)!).toISOString();

  it("parses Rate within the contract's ranges", () => {
    expect(parseSchedule("Rate", "3m")).toEqual({ kind: "interval", ms: 3 * MIN });
    expect(parseSchedule("Rate", "24h")).toEqual({ kind: "interval", ms: 24 * 60 * MIN });
    expect(parseSchedule("Rate", "30d")).toEqual({ kind: "interval", ms: 30 * 24 * 60 * MIN });
    for (const bad of ["0m", "61m", "25h", "31d", "1.5h", "3", "m", "3 m", "3s"])
      expect(() => parseSchedule("Rate", bad), bad).toThrow();
  });

  it("parses @every Go durations (whole seconds, at least one)", () => {
    const ms = (s: string) => (parseSchedule("Cron", s) as { ms: number }).ms;
    expect(ms("@every 30m")).toBe(30 * MIN);
    expect(ms("@every 1.5h")).toBe(90 * MIN);
    expect(ms("@every 2h30m")).toBe(150 * MIN);
    expect(ms("@every 1m30.5s")).toBe(90_000);
    expect(ms("@every 300ms")).toBe(1000);
    expect(ms("@every 1500us")).toBe(1000);
    for (const bad of ["@every", "@every 5", "@every 5x", "@every h", "@every 1h 30m"])
      expect(() => parseSchedule("Cron", bad), bad).toThrow();
  });

  it("reads 6-field cron with seconds, ?, names and CRON_TZ", () => {
    expect(next("Cron", "0 15 2 * * ?", T0)).toBe("2024-01-01T02:15:00.000Z");
    // Five fields: the weekday is optional, seconds come first.
    expect(next("Cron", "30 15 2 * *", T0)).toBe("2024-01-01T02:15:30.000Z");
    expect(next("Cron", "0 0/3 9-18 ? * Mon-Fri", Date.UTC(2024, 0, 6))).toBe(
      "2024-01-08T09:00:00.000Z",
    );
    expect(next("Cron", "0 0 12 1 jan,JUL ?", T0 + 13 * 60 * MIN)).toBe("2024-07-01T12:00:00.000Z");
    expect(next("Cron", "CRON_TZ=Europe/Berlin 0 30 12 ? * MON-FRI", T0)).toBe(
      "2024-01-01T11:30:00.000Z",
    );
    expect(next("Cron", "@hourly", T0)).toBe("2024-01-01T01:00:00.000Z");
    for (const bad of [
      "0 0 25 * * ?",
      "0 0 0 32 * ?",
      "0 0 0 * 13 ?",
      "0 0 0 * * 7",
      "0 0 0 * * 1 2",
      "0 0 0",
      "? 0 0 * * *",
      "CRON_TZ=Mars/Olympus 0 0 0 * * ?",
      "CRON_TZ=UTC @every 1h",
    ])
      expect(() => parseSchedule("Cron", bad), bad).toThrow();
  });
});

describe("TIMER source on a fake clock", () => {
  let dir: string;
  let main: Store;
  let store: TriggerStore;
  const fired: { id: string; event: Record<string, unknown> }[] = [];
  const delivery: Delivery = {
    submit: async (t, event) => {
      fired.push({ id: t.id, event: event as Record<string, unknown> });
      return `req-${fired.length}`;
    },
    outcome: async () => "SUCCESS",
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "fngraph-timer-"));
    const url = `sqlite:${path.join(dir, "t.db")}`;
    main = await openStore(url);
    await main.createFunction(
      {
        id: "fn-1",
        projectId: "p",
        package: "default",
        name: "f",
        runtime: "Node.js20.15",
        createdAt: "",
      },
      { functionId: "fn-1", version: "latest", codeDigest: "d", codeSize: 1 } as FunctionVersion,
    );
    store = openTriggerStore(url);
  });
  afterAll(async () => {
    await store.close();
    await main.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const timer = async (
    id: string,
    schedule_type: string,
    schedule: string,
  ): Promise<TriggerRecord> => {
    const t: TriggerRecord = {
      id,
      projectId: "p",
      functionId: "fn-1",
      qualifier: "latest",
      funcUrn: "urn:fss:local-1:p:function:default:f:latest",
      type: "TIMER",
      status: "ACTIVE",
      eventData: { name: `timer-${id}`, schedule_type, schedule, user_event: '{"keep":"as text"}' },
      internal: {},
      createdAt: T0,
      updatedAt: T0,
    };
    await store.create(t);
    return t;
  };
  const firedFor = (id: string) => fired.filter((f) => f.id === id).map((f) => f.event["time"]);

  it("fires once per point with the contract's event", async () => {
    const clock = createTimerClock(T0);
    const src = createTimerSource({ store, delivery, clock, logger: silentLogger });
    const t = await timer("rate", "Rate", "3m");
    await src.start(t);
    await clock.advance(10 * MIN);
    expect(firedFor("rate")).toEqual([
      "2024-01-01T00:03:00+00:00",
      "2024-01-01T00:06:00+00:00",
      "2024-01-01T00:09:00+00:00",
    ]);
    expect(fired.find((f) => f.id === "rate")!.event).toEqual({
      version: "v1.0",
      time: "2024-01-01T00:03:00+00:00",
      trigger_type: "TIMER",
      trigger_name: "timer-rate",
      user_event: '{"keep":"as text"}',
    });
    await src.close();
    expect(clock.pending()).toBe(0);
  });

  it("never fires a point twice across a restart and catches up at most once", async () => {
    const clock = createTimerClock(T0);
    const t = await timer("restart", "Cron", "0 * * * * ?"); // every minute
    let src = createTimerSource({ store, delivery, clock, logger: silentLogger });
    await src.start(t);
    await clock.advance(2 * MIN);
    expect(firedFor("restart")).toHaveLength(2);
    // Restart right away: the 00:02 point already fired and must not fire again.
    await src.close();
    src = createTimerSource({ store, delivery, clock, logger: silentLogger });
    await src.start(t);
    await clock.settle();
    expect(firedFor("restart")).toHaveLength(2);
    // Down for 10 minutes: one catch-up (the latest missed point), then on schedule.
    await src.close();
    await clock.advance(10 * MIN + 30_000);
    src = createTimerSource({ store, delivery, clock, logger: silentLogger });
    await src.start(t);
    await clock.settle();
    expect(firedFor("restart").slice(2)).toEqual(["2024-01-01T00:12:00+00:00"]);
    await clock.advance(MIN);
    expect(firedFor("restart").slice(3)).toEqual(["2024-01-01T00:13:00+00:00"]);
    // A second source on the same store (another node) cannot claim a fired point.
    const other = createTimerSource({ store, delivery, clock, logger: silentLogger });
    await other.start(t);
    await clock.advance(MIN);
    expect(firedFor("restart").slice(4)).toEqual(["2024-01-01T00:14:00+00:00"]);
    await other.close();
    await src.close();
  });

  it("does not catch up points missed while disabled", async () => {
    const clock = createTimerClock(T0);
    const t = await timer("enable", "Rate", "1m");
    const src = createTimerSource({ store, delivery, clock, logger: silentLogger });
    await clock.advance(5 * MIN);
    await src.enabled!(t);
    await src.start(t);
    await clock.settle();
    expect(firedFor("enable")).toEqual([]);
    await clock.advance(MIN);
    expect(firedFor("enable")).toEqual(["2024-01-01T00:06:00+00:00"]);
    await src.close();
  });
});
