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
 * can have several rows), the records as JSON lines. A lookup by request id finds that second's
 * rows through the `second` index and takes the record's line (the last one: an async retry
 * writes its record again). Any other id keeps a row of its own in `invocations`, as do the
 * records written before this table existed.
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
export const PACKED_NUMBERS = 5 + TIMING_KEYS.length;

/**
 * Records on their way to the store worker: each record's strings (undefined stays undefined) and
 * its numbers, in the order of RECORD_FIELDS. `nums` is transferred, not copied. Their structured
 * clone costs the event loop a fraction of the records' own: an array of values per record was
 * ~5 µs of the event loop's CPU per record under load (~3 % of a warm call), most of it walking
 * the values.
 */
export interface PackedRecords {
  /** requestId, functionId, version, alias, kind, instanceId, status, startedAt, log, timings. */
  strs: (string | undefined)[];
  /** errorCode, durationMs, billingMs, memoryUsedMb, coldStart (1/0), then TIMING_KEYS' values. */
  nums: Float64Array<ArrayBuffer>;
}

/**
 * A record's timings travel as numbers when their keys are TIMING_KEYS in order; any other shape
 * travels as JSON in the tenth string (empty otherwise).
 */
export function packRecords(records: readonly InvocationRecord[]): PackedRecords {
  const strs: (string | undefined)[] = [];
  const nums = new Float64Array(records.length * PACKED_NUMBERS);
  let j = 0;
  for (const r of records) {
    const t = r.timings;
    let standard = true;
    let n = 0;
    for (const k in t) {
      if (k !== TIMING_KEYS[n] || typeof t[k] !== "number") {
        standard = false;
        break;
      }
      n++;
    }
    if (n !== TIMING_KEYS.length) standard = false;
    strs.push(
      r.requestId,
      r.functionId,
      r.version,
      r.alias,
      r.kind,
      r.instanceId,
      r.status,
      r.startedAt,
      r.log,
      standard ? "" : JSON.stringify(t),
    );
    nums[j++] = r.errorCode;
    nums[j++] = r.durationMs;
    nums[j++] = r.billingMs;
    nums[j++] = r.memoryUsedMb;
    nums[j++] = r.coldStart ? 1 : 0;
    if (standard) for (const k of TIMING_KEYS) nums[j++] = t[k] as number;
    else j += TIMING_KEYS.length;
  }
  return { strs, nums };
}

/**
 * The records of `packRecords`, with their keys in the order of RECORD_FIELDS. Self-contained
 * but for its arguments: the store worker runs its source text (`.toString()`).
 */
export function unpackRecords(
  p: PackedRecords,
  timingKeys: readonly string[],
  stringsPer: number,
  numbersPer: number,
): InvocationRecord[] {
  const out: InvocationRecord[] = [];
  for (let s = 0, j = 0; s < p.strs.length; s += stringsPer, j += numbersPer) {
    const str = (k: number): string => p.strs[s + k] as string;
    const timingsJson = str(9);
    let timings: Record<string, number>;
    if (timingsJson) timings = JSON.parse(timingsJson) as Record<string, number>;
    else {
      timings = {};
      for (let k = 0; k < timingKeys.length; k++) {
        timings[timingKeys[k] as string] = p.nums[j + 5 + k] as number;
      }
    }
    out.push({
      requestId: str(0),
      functionId: str(1),
      version: str(2),
      alias: str(3),
      kind: str(4) as InvocationRecord["kind"],
      instanceId: str(5),
      status: str(6) as InvocationRecord["status"],
      errorCode: p.nums[j] as number,
      startedAt: str(7),
      durationMs: p.nums[j + 1] as number,
      billingMs: p.nums[j + 2] as number,
      memoryUsedMb: p.nums[j + 3] as number,
      coldStart: p.nums[j + 4] === 1,
      timings,
      log: str(8),
    });
  }
  return out;
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
 * store worker runs its source text, as it does `groupInvocations`'.
 */
export function requestIdSecond(requestId: string): number | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(requestId)) {
    return undefined;
  }
  return Math.floor(parseInt(requestId.slice(0, 8) + requestId.slice(9, 13), 16) / 1000);
}

/**
 * Splits records into batch rows and single rows. Uses no outer name but `requestIdSecond`: the
 * store worker runs the source text of both (`.toString()`).
 */
export function groupInvocations(
  records: readonly Pick<InvocationRecord, "requestId" | "functionId" | "startedAt">[],
): InvocationRows {
  const byKey = new Map<string, Omit<InvocationBatchRow, "data"> & { lines: string[] }>();
  const single: InvocationRows["single"] = [];
  for (const r of records) {
    const data = JSON.stringify(r);
    const second = requestIdSecond(r.requestId);
    if (second === undefined) {
      const { requestId, functionId, startedAt } = r;
      single.push({ requestId, functionId, startedAt, data });
      continue;
    }
    const key = `${second} ${r.functionId}`;
    const b = byKey.get(key);
    if (!b) {
      byKey.set(key, { functionId: r.functionId, second, createdAt: r.startedAt, lines: [data] });
      continue;
    }
    b.lines.push(data);
    if (r.startedAt > b.createdAt) b.createdAt = r.startedAt;
  }
  const batches = [...byKey.values()].map(({ lines, ...row }) => ({
    ...row,
    data: lines.join("\n"),
  }));
  return { batches, single };
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
  // JSON escapes every quote inside a string value, so the needle only matches the key itself.
  const needle = `"requestId":${JSON.stringify(requestId)}`;
  const row = db
    .prepare(
      "SELECT data FROM invocation_batches WHERE second = ? AND instr(data, ?) > 0 ORDER BY id DESC LIMIT 1",
    )
    .get(second, needle) as { data: string } | undefined;
  if (!row) return undefined;
  const lines = row.data.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string;
    if (line.includes(needle)) return JSON.parse(line) as InvocationRecord;
  }
  return undefined;
}
