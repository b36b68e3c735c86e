import pino from "pino";
import { nodeSnapshotsFor, type NodeSnapshots } from "../../src/runtimes/nodejs/snapshots.js";

/**
 * The Node startup snapshots a platform would use (docs/runtimes.md), built for these heap limits
 * before the caller measures, for sections that launch runtimes themselves. Undefined when
 * `FNGRAPH_NODE_SNAPSHOTS=off` (A/B runs) or when they cannot be made.
 */
export async function readyNodeSnapshots(
  heapMbs: readonly number[],
  log: (line: string) => void,
): Promise<NodeSnapshots | undefined> {
  try {
    const snapshots = nodeSnapshotsFor(process.env["FNGRAPH_NODE_SNAPSHOTS"], {
      nodePath: process.execPath,
      logger: pino({ level: "silent" }),
    });
    if (!snapshots) return undefined;
    snapshots.prepare(heapMbs);
    await snapshots.idle();
    return snapshots;
  } catch (err) {
    log(`node startup snapshots unavailable (${String(err)})`);
    return undefined;
  }
}
