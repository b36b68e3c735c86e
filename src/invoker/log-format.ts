/** Platform log lines around every invocation (contract §3.6). */

import type { InvocationRecord, LogFrame } from "../core/types.js";
import type { InvokeResult } from "./types.js";

let lastSecond = Number.NaN;
let lastStamp = "";

/**
 * UTC, second precision, as current FunctionGraph samples: 2026-03-17T10:13:22Z. Every call
 * writes two of these; the text of the last second is kept (formatting was ~1 % of the server's
 * CPU on the warm path).
 */
export function logTimestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastStamp = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  return lastStamp;
}

export function startLine(ms: number, requestId: string, version: string): string {
  return `${logTimestamp(ms)} Start invoke request '${requestId}', version: ${version}\n`;
}

export interface FinishFigures {
  durationMs: number;
  billingMs: number;
  memoryUsedMb: number;
  memorySize: number;
}

export function finishLine(ms: number, requestId: string, f: FinishFigures): string {
  return (
    `${logTimestamp(ms)} Finish invoke request '${requestId}', duration: ${f.durationMs.toFixed(3)}ms, ` +
    `billing duration: ${f.billingMs}ms, memory used: ${f.memoryUsedMb.toFixed(3)}MB, billing memory: ${f.memorySize}MB\n`
  );
}

/**
 * The whole log of a call: its Start line, `output`, its Finish line. The Start line names the
 * version that ran, also through an alias (the alias is in context.getAlias() and the record):
 * with weights, the alias alone would not tell which code answered. Made only when someone
 * reads it (X-Cff-Log-Type: tail, a stored record), not two lines per call on the event loop
 * that a store then kept (~210 of a warm call's record's ~770 bytes).
 */
export function framedLog(
  requestId: string,
  version: string,
  output: string,
  frame: LogFrame,
  f: Omit<FinishFigures, "memorySize">,
): string {
  return (
    startLine(frame.startMs, requestId, version) +
    output +
    finishLine(frame.endMs, requestId, { ...f, memorySize: frame.memorySize })
  );
}

/** A stored record's whole log (its `log` alone when it has no frame). */
export function invocationLog(r: InvocationRecord): string {
  return r.logFrame ? framedLog(r.requestId, r.version, r.log, r.logFrame, r) : r.log;
}

/** A call's whole log, as its caller may ask for it. */
export function resultLog(r: InvokeResult): string {
  return framedLog(r.requestId, r.version, r.output, r.logFrame, r);
}

/** Billing rounds up to the next whole millisecond (current platform); at least 1 ms. */
export function billingDuration(durationMs: number): number {
  return Math.max(1, Math.ceil(durationMs));
}

/** The last `maxBytes` bytes of a log, cut on a UTF-8 boundary (X-Cff-Function-Log). */
export function logTail(log: string, maxBytes = 2000): string {
  const buf = Buffer.from(log, "utf8");
  if (buf.length <= maxBytes) return log;
  let start = buf.length - maxBytes;
  while (start < buf.length && (buf[start]! & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString("utf8");
}
