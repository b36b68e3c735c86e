import type Database from "better-sqlite3";
import type { InvocationRecord } from "../../core/types.js";

/**
 * How the SQLite store keeps invocation records (docs/decisions.md).
 *
 * A row per record cost the store worker ~15–25 µs of CPU each (three B-tree inserts, the foreign
 * key, the WAL and the checkpoint copying every page twice), on the same two CPUs as the invoke
 * path: ~25 % of the warm throughput at `concurrent_num` 32. Records whose request id is a UUID
 * of version 7 (every id fngraph mints, core/request-id.ts) are therefore stored many to a row
 * of `invocation_batches`: one row per function and second of the ids' time (per write: a second
 * can have several rows), one line per record. A lookup by request id finds that second's
 * rows through the `second` index and takes the record's line (the last one: an async retry
 * writes its record again). Any other id keeps a row of its own in `invocations`, as do the
 * records written before this table existed.
 *
 * A batch row's line is a JSON array of the record's values (encodeRecordLine), not its JSON
 * object: no key names, no function id (the row's), and the timings as numbers only. With the
 * Start and Finish lines left out of `log` (the record's `logFrame`), a warm call's record is
 * ~200 bytes instead of ~770, and its JSON.stringify 0.8 µs instead of 1.4 (docs/scaling.md,
 * sixteenth session). Lines written before that are JSON objects, and are read as such.
 */

/** Every field of a record, in the order a record is written (the worker's copy rebuilds it). */
const FIELDS: Record<keyof InvocationRecord, true> = {
  requestId: true,
  functionId: true,
  version: true,
  alias: true,
  kind: true,
  instanceId: true,
  status: true,
  errorCode: true,
  startedAt: true,
  durationMs: true,
  billingMs: true,
  memoryUsedMb: true,
  coldStart: true,
  timings: true,
  log: true,
  logFrame: true,
};
export const RECORD_FIELDS = Object.keys(FIELDS) as readonly (keyof InvocationRecord)[];

/**
 * The keys of a record's timings as the invoker writes them (invoker.ts), in that order. Records
 * whose timings have these keys in this order travel as numbers only (packRecords).
 */
export const TIMING_KEYS = [
  "queue",
  "placement",
  "sandbox",
  "boot",
  "load",
  "initializer",
  "handler",
  "prewarmed",
] as const;

/** Strings and numbers per record in a `PackedRecords`. */
export const PACKED_STRINGS = 10;
export const PACKED_NUMBERS = 5 + TIMING_KEYS.length + 4;

/**
 * Records on their way to the store worker: each record's strings, end to end in one string with
 * their lengths beside it (-1: undefined), and its numbers, in the order of RECORD_FIELDS. `lens`
 * and `nums` are transferred, not copied. Their structured clone costs the event loop a fraction
 * of the records' own: an array of values per record was ~5 µs of the event loop's CPU per
 * record under load (~3 % of a warm call), most of it walking the values, and ten strings per
 * record still ~2 µs.
 */
export interface PackedRecords {
  /** requestId, functionId, version, alias, kind, instanceId, status, startedAt, log, timings. */
  text: string;
  /** The length of each of those strings in `text`, in order; -1 for an undefined one. */
  lens: Int32Array<ArrayBuffer>;
  /**
   * errorCode, durationMs, billingMs, memoryUsedMb, coldStart (1/0), TIMING_KEYS' values, then
   * 1 and the log frame's startMs, endMs, memorySize (0 and three zeros without a frame).
   */
  nums: Float64Array<ArrayBuffer>;
}

/** Whether a record's timings have the keys of TIMING_KEYS, in that order, with number values. */
export function standardTimings(t: Record<string, number>, keys: readonly string[]): boolean {
  let n = 0;
  for (const k in t) {
    if (k !== keys[n] || typeof t[k] !== "number") return false;
    n++;
  }
  return n === keys.length;
}

/**
 * A record's timings travel as numbers when their keys are TIMING_KEYS in order; any other shape
 * travels as JSON in the tenth string (empty otherwise).
 */
export function packRecords(records: readonly InvocationRecord[]): PackedRecords {
  const parts: string[] = [];
  const lens = new Int32Array(records.length * PACKED_STRINGS);
  const nums = new Float64Array(records.length * PACKED_NUMBERS);
  let i = 0;
  const add = (v: string | undefined): void => {
    if (v === undefined) lens[i++] = -1;
    else {
      lens[i++] = v.length;
      parts.push(v);
    }
  };
  let j = 0;
  for (const r of records) {
    const t = r.timings;
    const standard = standardTimings(t, TIMING_KEYS);
    add(r.requestId);
    add(r.functionId);
    add(r.version);
    add(r.alias);
    add(r.kind);
    add(r.instanceId);
    add(r.status);
    add(r.startedAt);
    add(r.log);
    add(standard ? "" : JSON.stringify(t));
    nums[j++] = r.errorCode;
    nums[j++] = r.durationMs;
    nums[j++] = r.billingMs;
    nums[j++] = r.memoryUsedMb;
    nums[j++] = r.coldStart ? 1 : 0;
    if (standard) for (const k of TIMING_KEYS) nums[j++] = t[k] as number;
    else j += TIMING_KEYS.length;
    const f = r.logFrame;
    if (f) {
      nums[j++] = 1;
      nums[j++] = f.startMs;
      nums[j++] = f.endMs;
      nums[j++] = f.memorySize;
    } else j += 4;
  }
  return { text: parts.join(""), lens, nums };
}

/**
 * Each packed record's strings, in the order of PackedRecords' `text` (undefined stays
 * undefined). Self-contained but for its arguments: the store worker runs its source text, as it
 * does that of every function of this file it uses (`.toString()`).
 */
export function packedStrings(p: PackedRecords, stringsPer: number): (string | undefined)[][] {
  const out: (string | undefined)[][] = [];
  let at = 0;
  for (let s = 0; s < p.lens.length; s += stringsPer) {
    const strs: (string | undefined)[] = [];
    for (let k = 0; k < stringsPer; k++) {
      const n = p.lens[s + k] as number;
      if (n < 0) strs.push(undefined);
      else {
        strs.push(p.text.slice(at, at + n));
        at += n;
      }
    }
    out.push(strs);
  }
  return out;
}

/** The record of one packed record's strings and its numbers from `nums[j]` on. */
export function recordFrom(
  strs: readonly (string | undefined)[],
  nums: Float64Array,
  j: number,
  timingKeys: readonly string[],
): InvocationRecord {
  const str = (k: number): string => strs[k] as string;
  const timingsJson = str(9);
  let timings: Record<string, number>;
  if (timingsJson) timings = JSON.parse(timingsJson) as Record<string, number>;
  else {
    timings = {};
    for (let k = 0; k < timingKeys.length; k++) {
      timings[timingKeys[k] as string] = nums[j + 5 + k] as number;
    }
  }
  const r: InvocationRecord = {
    requestId: str(0),
    functionId: str(1),
    version: str(2),
    alias: str(3),
    kind: str(4) as InvocationRecord["kind"],
    instanceId: str(5),
    status: str(6) as InvocationRecord["status"],
    errorCode: nums[j] as number,
    startedAt: str(7),
    durationMs: nums[j + 1] as number,
    billingMs: nums[j + 2] as number,
    memoryUsedMb: nums[j + 3] as number,
    coldStart: nums[j + 4] === 1,
    timings,
    log: str(8),
  };
  const f = j + 5 + timingKeys.length;
  if (nums[f] === 1) {
    r.logFrame = {
      startMs: nums[f + 1] as number,
      endMs: nums[f + 2] as number,
      memorySize: nums[f + 3] as number,
    };
  }
  return r;
}

/** The records of `packRecords`, with their keys in the order of RECORD_FIELDS. */
export function unpackRecords(
  p: PackedRecords,
  timingKeys: readonly string[],
  stringsPer: number,
  numbersPer: number,
): InvocationRecord[] {
  return packedStrings(p, stringsPer).map((strs, i) =>
    recordFrom(strs, p.nums, i * numbersPer, timingKeys),
  );
}

/** The first value of a batch row's line: its format. */
export const LINE_FORMAT = 2;

/**
 * A record as a line of a batch row: a JSON array of its values in the order of RECORD_FIELDS,
 * after LINE_FORMAT, without the function id (the row's); the timings as an array of
 * TIMING_KEYS' values when they have that shape, else their object; the log frame as
 * [startMs, endMs, memorySize], or 0. Made from the packed record (`lineFrom`), as the store
 * worker makes it.
 */
export function encodeRecordLine(r: InvocationRecord): string {
  const p = packRecords([r]);
  return lineFrom(packedStrings(p, PACKED_STRINGS)[0] ?? [], p.nums, 0, TIMING_KEYS);
}

/**
 * `encodeRecordLine` of one packed record's strings and its numbers from `nums[j]` on, without
 * the record object: the store worker's part of a record was ~4 µs of CPU, a quarter of it
 * making the objects. Uses no outer name but `standardTimings` and `LINE_FORMAT`.
 */
export function lineFrom(
  strs: readonly (string | undefined)[],
  nums: Float64Array,
  j: number,
  timingKeys: readonly string[],
): string {
  const timingsJson = strs[9];
  let timings: unknown;
  if (timingsJson) {
    const t = JSON.parse(timingsJson) as Record<string, number>;
    timings = standardTimings(t, timingKeys) ? timingKeys.map((k) => t[k]) : t;
  } else {
    const values: number[] = [];
    for (let k = 0; k < timingKeys.length; k++) values.push(nums[j + 5 + k] as number);
    timings = values;
  }
  const f = j + 5 + timingKeys.length;
  return JSON.stringify([
    LINE_FORMAT,
    strs[0],
    strs[2],
    strs[3],
    strs[4],
    strs[5],
    strs[6],
    nums[j],
    strs[7],
    nums[j + 1],
    nums[j + 2],
    nums[j + 3],
    nums[j + 4] === 1 ? 1 : 0,
    timings,
    strs[8],
    nums[f] === 1 ? [nums[f + 1], nums[f + 2], nums[f + 3]] : 0,
  ]);
}

/**
 * The record of an `encodeRecordLine` line, as JSON.parse would give its JSON object: a string
 * that was undefined (null in the array) has no key, a number that was not finite is null.
 */
export function decodeRecordLine(line: string, functionId: string): InvocationRecord {
  const a = JSON.parse(line) as unknown[];
  if (a[0] !== LINE_FORMAT)
    throw new Error(`unknown invocation record line format ${String(a[0])}`);
  const r: Record<string, unknown> = {};
  const str = (key: keyof InvocationRecord, v: unknown): void => {
    if (v !== null) r[key] = v;
  };
  str("requestId", a[1]);
  r["functionId"] = functionId;
  str("version", a[2]);
  str("alias", a[3]);
  str("kind", a[4]);
  str("instanceId", a[5]);
  str("status", a[6]);
  r["errorCode"] = a[7];
  str("startedAt", a[8]);
  r["durationMs"] = a[9];
  r["billingMs"] = a[10];
  r["memoryUsedMb"] = a[11];
  r["coldStart"] = a[12] === 1;
  const t = a[13];
  if (Array.isArray(t)) {
    const values = t as unknown[];
    const timings: Record<string, unknown> = {};
    TIMING_KEYS.forEach((k, i) => (timings[k] = values[i]));
    r["timings"] = timings;
  } else r["timings"] = t;
  str("log", a[14]);
  const f = a[15];
  if (Array.isArray(f)) {
    const v = f as unknown[];
    r["logFrame"] = { startMs: v[0], endMs: v[1], memorySize: v[2] };
  }
  return r as unknown as InvocationRecord;
}

/** A row of `invocation_batches`, before it is inserted. */
export interface InvocationBatchRow {
  functionId: string;
  /** Unix second of the request ids' time. */
  second: number;
  /** The latest start among its records (pruning removes a row once it is older than the cut). */
  createdAt: string;
  /** The records, JSON, one per line. */
  data: string;
}

/** What a set of records becomes: batch rows, and records kept one per row. */
export interface InvocationRows {
  batches: InvocationBatchRow[];
  single: { requestId: string; functionId: string; startedAt: string; data: string }[];
}

/**
 * Unix second of a version 7 UUID's time, or undefined for any other id. Self-contained: the
 * store worker runs its source text, as it does `groupPacked`'s.
 */
export function requestIdSecond(requestId: string): number | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(requestId)) {
    return undefined;
  }
  return Math.floor(parseInt(requestId.slice(0, 8) + requestId.slice(9, 13), 16) / 1000);
}

/**
 * Splits packed records into batch rows (`lineFrom`'s lines) and single rows (the record's JSON,
 * for a request id that is not a version 7 UUID). Uses no outer name but the functions above it
 * in this file: the store worker runs the source text of all of them.
 */
export function groupPacked(
  p: PackedRecords,
  timingKeys: readonly string[],
  stringsPer: number,
  numbersPer: number,
): InvocationRows {
  const byKey = new Map<string, Omit<InvocationBatchRow, "data"> & { lines: string[] }>();
  const single: InvocationRows["single"] = [];
  packedStrings(p, stringsPer).forEach((strs, i) => {
    const j = i * numbersPer;
    const requestId = strs[0] as string;
    const functionId = strs[1] as string;
    const startedAt = strs[7] as string;
    const second = requestIdSecond(requestId);
    if (second === undefined) {
      const data = JSON.stringify(recordFrom(strs, p.nums, j, timingKeys));
      single.push({ requestId, functionId, startedAt, data });
      return;
    }
    const data = lineFrom(strs, p.nums, j, timingKeys);
    const key = `${second} ${functionId}`;
    const b = byKey.get(key);
    if (!b) {
      byKey.set(key, { functionId, second, createdAt: startedAt, lines: [data] });
      return;
    }
    b.lines.push(data);
    if (startedAt > b.createdAt) b.createdAt = startedAt;
  });
  const batches = [...byKey.values()].map(({ lines, ...row }) => ({
    ...row,
    data: lines.join("\n"),
  }));
  return { batches, single };
}

/** What a set of records becomes: `groupPacked` of them packed. */
export function groupInvocations(records: readonly InvocationRecord[]): InvocationRows {
  return groupPacked(packRecords(records), TIMING_KEYS, PACKED_STRINGS, PACKED_NUMBERS);
}

/** The SQL of the two writes, shared by the store and its worker. */
export const INSERT_SINGLE_SQL =
  "INSERT OR REPLACE INTO invocations (request_id, function_id, created_at, data) VALUES (?, ?, ?, ?)";
export const INSERT_BATCH_SQL =
  "INSERT INTO invocation_batches (function_id, second, created_at, data) VALUES (?, ?, ?, ?)";

/** How many records a deleted `invocation_batches` row held (a RETURNING expression). */
export const RECORDS_IN_ROW_SQL = "length(data) - length(replace(data, char(10), '')) + 1";

/** One invocation record by its request id, from either table; undefined if there is none. */
export function findInvocation(
  db: Database.Database,
  requestId: string,
): InvocationRecord | undefined {
  const second = requestIdSecond(requestId);
  const batched = second === undefined ? undefined : findBatched(db, requestId, second);
  if (batched) return batched;
  const row = db.prepare("SELECT data FROM invocations WHERE request_id = ?").get(requestId) as
    { data: string } | undefined;
  return row ? (JSON.parse(row.data) as InvocationRecord) : undefined;
}

function findBatched(
  db: Database.Database,
  requestId: string,
  second: number,
): InvocationRecord | undefined {
  // A line of encodeRecordLine starts with its format and the id; one written before that is a
  // JSON object. JSON escapes every quote inside a string value, so neither needle can match
  // inside one: only the line's first value, or the key itself.
  const id = JSON.stringify(requestId);
  const lineStart = `[${LINE_FORMAT},${id},`;
  const objectKey = `"requestId":${id}`;
  const row = db
    .prepare(
      "SELECT function_id, data FROM invocation_batches WHERE second = ? AND (instr(data, ?) > 0 OR instr(data, ?) > 0) ORDER BY id DESC LIMIT 1",
    )
    .get(second, lineStart, objectKey) as { function_id: string; data: string } | undefined;
  if (!row) return undefined;
  const lines = row.data.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string;
    if (line.startsWith(lineStart)) return decodeRecordLine(line, row.function_id);
    if (line.includes(objectKey)) return JSON.parse(line) as InvocationRecord;
  }
  return undefined;
}
