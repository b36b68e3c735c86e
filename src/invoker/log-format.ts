/** Platform log lines around every invocation (contract §3.6). */

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
