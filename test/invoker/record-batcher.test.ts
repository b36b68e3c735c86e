import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import type { InvocationRecord } from "../../src/core/types.js";
import { createRecordBatcher } from "../../src/invoker/record-batcher.js";
import { createFakeClock } from "../helpers/fake-clock.js";

const rec = (n: number) => ({ requestId: `r${n}` }) as InvocationRecord;

describe("invocation record batching", () => {
  it("writes a batch after the delay, in order, and everything on close", async () => {
    const clock = createFakeClock(0);
    const writes: string[][] = [];
    const b = createRecordBatcher({
      write: async (rs) => void writes.push(rs.map((r) => r.requestId)),
      clock,
      logger: silentLogger,
      delayMs: 20,
      maxBatch: 3,
    });
    b.add(rec(1));
    b.add(rec(2));
    expect(writes).toEqual([]);
    await clock.advance(20);
    await b.flush();
    expect(writes).toEqual([["r1", "r2"]]);
    b.add(rec(3));
    b.add(rec(4));
    b.add(rec(5)); // reaches maxBatch: written without waiting
    await b.flush();
    expect(writes).toEqual([
      ["r1", "r2"],
      ["r3", "r4", "r5"],
    ]);
    b.add(rec(6));
    await b.close();
    expect(writes.at(-1)).toEqual(["r6"]);
  });

  it("logs a failed write and keeps going", async () => {
    const clock = createFakeClock(0);
    let calls = 0;
    const b = createRecordBatcher({
      write: async () => {
        calls++;
        if (calls === 1) throw new Error("disk full");
      },
      clock,
      logger: silentLogger,
    });
    b.add(rec(1));
    await b.flush();
    b.add(rec(2));
    await b.close();
    expect(calls).toBe(2);
  });
});
