import pino from "pino";
import { locateShimRoot } from "../../src/runtimes/registry.js";
import { createNodeSnapshots, type NodeSnapshots } from "../../src/runtimes/nodejs/snapshots.js";
import path from "node:path";

/**
 * The Node startup snapshots a platform would use (docs/runtimes.md), built for these heap limits
 * before the caller measures, for sections that launch runtimes themselves. Undefined when
 * `FNGRAPH_NODE_SNAPSHOTS=off` (A/B runs) or when they cannot be made.
 */
export async function readyNodeSnapshots(
  heapMbs: readonly number[],
  log: (line: string) => void,
): Promise<NodeSnapshots | undefined> {
  const setting = process.env["FNGRAPH_NODE_SNAPSHOTS"];
  if (setting === "off") return undefined;
  try {
    const snapshots = createNodeSnapshots({
      nodePath: process.execPath,
      shimDir: path.join(locateShimRoot(), "nodejs", "shim"),
      ...(setting ? { dir: setting } : {}),
      logger: pino({ level: "silent" }),
    });
    snapshots.prepare(heapMbs);
    await snapshots.idle();
    return snapshots;
  } catch (err) {
    log(`node startup snapshots unavailable (${String(err)})`);
    return undefined;
  }
}
