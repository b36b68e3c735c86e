/** Handler sources: the same text goes into the function ZIP and into the floor server. */
export const NODE_NOOP = "exports.handler = async (event) => event;\n";

/**
 * Burns 10 ms of CPU time, then echoes. CPU time (process.cpuUsage), not wall time: with 32
 * instances on 2 cores a wall-clock loop is preempted and would do less work the more crowded the
 * machine is, flattering exactly the runs that oversubscribe the CPUs.
 */
export const NODE_BUSY_10MS = [
  "exports.handler = async (event) => {",
  "  const start = process.cpuUsage();",
  "  for (;;) {",
  "    const used = process.cpuUsage(start);",
  "    if (used.user + used.system >= 10000) break;",
  "  }",
  "  return event;",
  "};",
  "",
].join("\n");

export const PYTHON_NOOP = "def handler(event, context):\n    return event\n";

/** The tiny JSON event every invoke sends. */
export const EVENT = JSON.stringify({ hello: "fngraph", n: 1 });

export const FLOOR_HANDLERS = { noop: NODE_NOOP, busy: NODE_BUSY_10MS } as const;
export type FloorHandlerName = keyof typeof FLOOR_HANDLERS;
