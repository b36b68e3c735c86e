import pino from "pino";
import { describe, expect, it } from "vitest";
import { startRecordRetention } from "../../src/store/record-retention.js";
import { createManualClock } from "../invoker/helpers.js";

const silent = pino({ level: "silent" });
const HOUR = 3_600_000;

describe("record retention", () => {
  it("prunes every target older than the retention at start and every interval, until closed", async () => {
    const start = Date.UTC(2026, 10, 29, 12, 0, 0);
    const clock = createManualClock(start);
    const seen: string[] = [];
    const target = (what: string) => ({
      what,
      prune: async (before: number) => {
        seen.push(`${what} ${new Date(before).toISOString()}`);
        return 3;
      },
    });
    const r = startRecordRetention({
      targets: [target("records"), target("async")],
      clock,
      logger: silent,
      retentionHours: 24,
      intervalMs: HOUR,
    });
    await clock.advance(0);
    expect(seen).toEqual(["records 2026-11-28T12:00:00.000Z", "async 2026-11-28T12:00:00.000Z"]);
    await clock.advance(HOUR);
    expect(seen.slice(2)).toEqual([
      "records 2026-11-28T13:00:00.000Z",
      "async 2026-11-28T13:00:00.000Z",
    ]);
    await r.close();
    await clock.advance(5 * HOUR);
    expect(seen).toHaveLength(4);
    expect(clock.pending).toBe(0);
  });

  it("goes on after a failed target and a failed run, and does nothing with a retention of 0", async () => {
    const clock = createManualClock(0);
    let failed = 0;
    let pruned = 0;
    const targets = [
      {
        what: "records",
        prune: async () => {
          failed++;
          throw new Error("database is locked");
        },
      },
      {
        what: "async",
        prune: async () => {
          pruned++;
          return 0;
        },
      },
    ];
    const r = startRecordRetention({
      targets,
      clock,
      logger: silent,
      retentionHours: 1,
      intervalMs: 1000,
    });
    await clock.advance(2500);
    expect([failed, pruned]).toEqual([3, 3]);
    await r.close();

    const none = startRecordRetention({ targets, clock, logger: silent, retentionHours: 0 });
    await clock.advance(10 * HOUR);
    expect([failed, pruned]).toEqual([3, 3]);
    await none.close();
  });
});
