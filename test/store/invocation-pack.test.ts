import { mkdtempSync, rmSync } from "node:fs";
import Database from "better-sqlite3";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { InvocationRecord } from "../../src/core/types.js";
import { newRequestId } from "../../src/core/request-id.js";
import {
  decodeRecordLine,
  encodeRecordLine,
  PACKED_NUMBERS,
  PACKED_STRINGS,
  packRecords,
  RECORD_FIELDS,
  requestIdSecond,
  TIMING_KEYS,
  unpackRecords,
} from "../../src/store/sqlite/invocation-rows.js";
import { invocationLog } from "../../src/invoker/log-format.js";
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
  log: 'hello "you"\n',
  logFrame: { startMs: 1_764_460_800_123, endMs: 1_764_460_801_002.5, memorySize: 256 },
  ...over,
});
/** A record as the invoker wrote them before log frames: the whole log, no frame. */
const unframed = (over: Partial<InvocationRecord> = {}): InvocationRecord => {
  const { logFrame: _f, ...r } = record(over);
  return { ...r, log: "2026-11-29T00:00:00Z Start invoke request 'x', version: latest\n" };
};

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
      unframed(),
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
    // And as lines of a batch row: what JSON of the record would read back as.
    for (const r of rs) {
      expect(decodeRecordLine(encodeRecordLine(r), r.functionId)).toEqual(
        JSON.parse(JSON.stringify(r)),
      );
    }
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

describe("a batch row's lines", () => {
  it("read back as JSON of the record would, in the same key order, without the function id", () => {
    const rs = [
      record(),
      unframed({ alias: "live", coldStart: false }),
      record({ alias: undefined as unknown as string, status: "error", errorCode: 4208 }),
      record({ durationMs: Number.NaN, memoryUsedMb: Number.POSITIVE_INFINITY }),
      record({ log: 'a "quoted" [2,"x", line\nand \u2028 more\\' }),
    ];
    for (const r of rs.map((x) => ({ ...x, functionId: "fn-of-the-row" }))) {
      const line = encodeRecordLine(r);
      expect(line).not.toContain("\n");
      expect(line).not.toContain(r.functionId);
      const back = decodeRecordLine(line, r.functionId);
      const json = JSON.parse(JSON.stringify(r)) as InvocationRecord;
      expect(back).toEqual(json);
      expect(Object.keys(back)).toEqual(Object.keys(json));
      expect(Object.keys(back.timings)).toEqual(TIMING_KEYS);
    }
    expect(Object.keys(decodeRecordLine(encodeRecordLine(record()), "f"))).toEqual(RECORD_FIELDS);
    expect(() => decodeRecordLine('[3,"x"]', "f")).toThrow(/format 3/);
  });

  it("are a quarter of the record's JSON for a warm call", () => {
    const r = record({ log: "", timings: { ...standardTimings(), queue: 0.012, handler: 0.4 } });
    const old = JSON.stringify({ ...r, logFrame: undefined, log: invocationLog(r) });
    expect(encodeRecordLine(r).length).toBeLessThan(old.length / 3);
  });
});

describe("a record's whole log", () => {
  it("puts the Start and Finish lines of its frame around its output", () => {
    const r = record({ requestId: "rid", version: "v2", durationMs: 1.23456, billingMs: 2 });
    expect(invocationLog(r)).toBe(
      "2025-11-30T00:00:00Z Start invoke request 'rid', version: v2\n" +
        'hello "you"\n' +
        "2025-11-30T00:00:01Z Finish invoke request 'rid', duration: 1.235ms, billing duration: 2ms, " +
        `memory used: ${r.memoryUsedMb.toFixed(3)}MB, billing memory: 256MB\n`,
    );
    expect(invocationLog(unframed())).toBe(unframed().log);
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
      unframed({ functionId: fn.id }),
    ];
    await store.addInvocations(rs);
    for (const r of rs) expect(await store.getInvocation(r.requestId)).toEqual(r);
  });

  it("still read the JSON object lines of rows written before the array lines", async () => {
    const fn = fnRecord("p1", "older");
    await store.createFunction(fn, fnVersion(fn.id));
    const old = unframed({ functionId: fn.id });
    const now = record({ functionId: fn.id, requestId: newRequestId(Date.now() + 1) });
    await store.addInvocations([now]);
    const db = new Database(path.join(dir, "fngraph.db"));
    try {
      // Two lines of the old format in one row: another record's, then this one's.
      const lines = [JSON.stringify(unframed({ functionId: fn.id })), JSON.stringify(old)];
      db.prepare(
        "INSERT INTO invocation_batches (function_id, second, created_at, data) VALUES (?, ?, ?, ?)",
      ).run(fn.id, requestIdSecond(old.requestId), old.startedAt, lines.join("\n"));
    } finally {
      db.close();
    }
    expect(await store.getInvocation(old.requestId)).toEqual(old);
    expect(await store.getInvocation(now.requestId)).toEqual(now);
  });
});
