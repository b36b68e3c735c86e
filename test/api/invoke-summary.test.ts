import { describe, expect, it } from "vitest";
import { invokeSummary } from "../../src/api/routes/invoke.js";
import type { InvokeResult } from "../../src/invoker/types.js";

/** What the header held when JSON.stringify wrote it. */
const reference = (r: InvokeResult): string =>
  JSON.stringify({
    duration: Math.round(r.durationMs * 1000) / 1000,
    billingDuration: r.billingMs,
    memorySize: r.memorySize,
    memoryUsed: Math.round(r.memoryUsedMb * 1000) / 1000,
    coldStart: r.coldStart,
    timings: r.timings,
  });

const result = (over: Partial<InvokeResult> = {}): InvokeResult => ({
  requestId: "r",
  ok: true,
  body: "{}",
  errorCode: 0,
  isFuncErr: false,
  output: "",
  logFrame: { startMs: 0, endMs: 1, memorySize: 128 },
  durationMs: 0.4449999,
  billingMs: 1,
  memorySize: 128,
  memoryUsedMb: 7.19921875,
  coldStart: false,
  instanceId: "i",
  version: "latest",
  timings: {
    queue: 0.07564899999988,
    placement: 0,
    sandbox: 0,
    boot: 0,
    load: 0,
    initializer: 0,
    handler: 0.5,
    prewarmed: 0,
  },
  ...over,
});

describe("X-Cff-Invoke-Summary", () => {
  it("is the text JSON.stringify gives, for warm and cold calls and odd figures", () => {
    const cases = [
      result(),
      result({
        coldStart: true,
        durationMs: 123.4567,
        timings: {
          queue: 3.1,
          placement: 16.2,
          sandbox: 14.7,
          boot: 60.79,
          load: 5.19,
          handler: 5,
        },
      }),
      result({ timings: { queue: 0, sandbox: 0, boot: 0, load: 0, handler: 0 } }),
      result({
        durationMs: Number.NaN,
        memoryUsedMb: Number.POSITIVE_INFINITY,
        billingMs: 1e21,
        timings: { queue: -0, sandbox: 1e-7, boot: Number.NaN, load: 0, handler: 2 },
      }),
      result({
        timings: { queue: 1, placement: undefined, sandbox: 0, boot: 0, load: 0, handler: 1 },
      }),
    ];
    for (const r of cases) {
      expect(invokeSummary(r)).toBe(reference(r));
      expect(() => JSON.parse(invokeSummary(r)) as unknown).not.toThrow();
    }
  });
});
