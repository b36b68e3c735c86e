import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { InvocationRecord } from "../../src/core/types.js";
import { newRequestId } from "../../src/core/request-id.js";
import {
  PACKED_NUMBERS,
  PACKED_STRINGS,
  packRecords,
  RECORD_FIELDS,
  TIMING_KEYS,
  unpackRecords,
} from "../../src/store/sqlite/invocation-rows.js";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/types.js";
import { fnRecord, fnVersion, invocation } from "./store-contract.js";

/** Timings as the invoker writes them (invoker.ts): the keys of TIMING_KEYS, in that order. */
const standardTimings = (): Record<string, number> => ({
  queue: 0.0123456789,
  placement: 0,
  sandbox: 12.5,
  boot: 40.25,
  load: 3.125,
  initializer: 0,
  handler: 0.734,
  prewarmed: 1,
});

const record = (over: Partial<InvocationRecord> = {}): InvocationRecord => ({
  ...invocation("f-1"),
  requestId: newRequestId(),
  timings: standardTimings(),
  log: "2026-11-29T00:00:00Z Start invoke request 'x', version: latest\nhello \"you\"\n",
  ...over,
});

const roundTrip = (rs: InvocationRecord[]): InvocationRecord[] => {
  const p = packRecords(rs);
  // What the worker receives: a structured clone.
  const copy = structuredClone(p);
  return unpackRecords(copy, TIMING_KEYS, PACKED_STRINGS, PACKED_NUMBERS);
};

describe("records packed for the store worker", () => {
  it("come back equal, with their keys in the stored order", () => {
    const rs = [
      record(),
      record({ coldStart: false, status: "error", errorCode: 4004, alias: "live" }),
      record({ durationMs: 1e-9, billingMs: 900_000, memoryUsedMb: 0.5, log: "" }),
    ];
    const back = roundTrip(rs);
    expect(back).toEqual(rs);
    // The JSON the worker stores is the record's own, byte for byte.
    expect(back.map((r) => JSON.stringify(r))).toEqual(rs.map((r) => JSON.stringify(r)));
    expect(Object.keys(back[0]!)).toEqual(RECORD_FIELDS);
    expect(Object.keys(back[0]!.timings)).toEqual(TIMING_KEYS);
  });

  it("keep timings of any other shape as they were", () => {
    const { prewarmed: _p, ...missing } = standardTimings();
    const { queue, ...rest } = standardTimings();
    const shapes: Record<string, number>[] = [
      { init: 3 },
      {},
      missing,
      { ...rest, queue: queue ?? 0 },
      { ...standardTimings(), extra: 2 },
      // A value that is not a number: JSON would drop or null it; it must not become NaN.
      { ...standardTimings(), handler: undefined as unknown as number },
    ];
    const rs = shapes.map((timings) => record({ timings }));
    const back = roundTrip(rs);
    expect(back.map((r) => JSON.stringify(r))).toEqual(rs.map((r) => JSON.stringify(r)));
    expect(Object.keys(back[3]!.timings)).toEqual([...TIMING_KEYS.slice(1), "queue"]);
  });

  it("drop an undefined alias as JSON does, and keep NaN and infinities as JSON does", () => {
    const rs = [
      record({ alias: undefined as unknown as string }),
      record({ durationMs: Number.NaN, memoryUsedMb: Number.POSITIVE_INFINITY }),
    ];
    const back = roundTrip(rs);
    expect(back.map((r) => JSON.stringify(r))).toEqual(rs.map((r) => JSON.stringify(r)));
    expect(JSON.parse(JSON.stringify(back[0]))).not.toHaveProperty("alias");
  });

  it("is empty for no records", () => {
    expect(roundTrip([])).toEqual([]);
  });
});

describe("records written through the store worker", () => {
  let dir: string;
  let store: Store;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "fngraph-pack-"));
    store = createSqliteStore(path.join(dir, "fngraph.db"));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("read back exactly as written, whatever their timings' shape", async () => {
    const fn = fnRecord("p1", "packed");
    await store.createFunction(fn, fnVersion(fn.id));
    const rs = [
      record({ functionId: fn.id }),
      record({ functionId: fn.id, timings: { init: 3 }, coldStart: false }),
      record({ functionId: fn.id, requestId: "not-a-v7-id", alias: "live", errorCode: 4201 }),
    ];
    await store.addInvocations(rs);
    for (const r of rs) expect(await store.getInvocation(r.requestId)).toEqual(r);
  });
});
