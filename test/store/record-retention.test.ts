import pino from "pino";
import { describe, expect, it } from "vitest";
import { startRecordRetention } from "../../src/store/record-retention.js";
import { createManualClock } from "../invoker/helpers.js";

const silent = pino({ level: "silent" });
const HOUR = 3_600_000;

describe("invocation record retention", () => {
  it("deletes records older than the retention at start and every interval, until closed", async () => {
    const clock = createManualClock(Date.UTC(2026, 10, 29, 12, 0, 0));
    const cutoffs: string[] = [];
    const store = {
      pruneInvocations: async (before: string) => {
        cutoffs.push(before);
        return 3;
      },
    };
    const r = startRecordRetention({
      store,
      clock,
      logger: silent,
      retentionHours: 24,
      intervalMs: HOUR,
    });
    await clock.advance(0);
    expect(cutoffs).toEqual(["2026-11-28T12:00:00.000Z"]);
    await clock.advance(HOUR);
    expect(cutoffs).toEqual(["2026-11-28T12:00:00.000Z", "2026-11-28T13:00:00.000Z"]);
    await r.close();
    await clock.advance(5 * HOUR);
    expect(cutoffs).toHaveLength(2);
    expect(clock.pending).toBe(0);
  });

  it("keeps going after a failed run, and does nothing with a retention of 0", async () => {
    const clock = createManualClock(0);
    let calls = 0;
    const failing = {
      pruneInvocations: async () => {
        calls++;
        throw new Error("database is locked");
      },
    };
    const r = startRecordRetention({
      store: failing,
      clock,
      logger: silent,
      retentionHours: 1,
      intervalMs: 1000,
    });
    await clock.advance(2500);
    expect(calls).toBe(3);
    await r.close();

    const none = startRecordRetention({
      store: failing,
      clock,
      logger: silent,
      retentionHours: 0,
    });
    await clock.advance(10 * HOUR);
    expect(calls).toBe(3);
    await none.close();
  });
});
