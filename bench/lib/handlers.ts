/** Handler sources: the same text goes into the function ZIP and into the floor server. */
export const NODE_NOOP = "exports.handler = async (event) => event;\n";

/**
 * A fixed amount of CPU work — 480,000 rounds of a linear congruential step, ~10 ms on our
 * 2-core machines — then the echo. A fixed amount, not "until 10 ms of CPU time": serverless-
 * offline runs handlers in worker threads of one process, where `process.cpuUsage()` counts every
 * thread, so with 32 calls at once each call did a fraction of the work (a wall-clock loop has
 * the same flaw with preempted processes). The same work is now done in every process and thread.
 * `x` is never negative: the branch only keeps the loop from being optimised away.
 */
export const NODE_BUSY_10MS = [
  "exports.handler = async (event) => {",
  "  let x = 1;",
  "  for (let i = 0; i < 480000; i++) x = (x * 1103515245 + 12345) % 2147483648;",
  "  if (x < 0) event.x = x;",
  "  return event;",
  "};",
  "",
].join("\n");

export const PYTHON_NOOP = "def handler(event, context):\n    return event\n";

/** The tiny JSON event every invoke sends. */
export const EVENT = JSON.stringify({ hello: "fngraph", n: 1 });

export const FLOOR_HANDLERS = { noop: NODE_NOOP, busy: NODE_BUSY_10MS } as const;
export type FloorHandlerName = keyof typeof FLOOR_HANDLERS;
