import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { deployFunction, startTestPlatform, type TestPlatform } from "../helpers/platform.js";
import { invoke } from "../hostile/helpers.js";
import { makeTempDir } from "../sandbox/helpers.js";

/** Reports whether its runtime was started from a Node startup snapshot. */
const FROM_SNAPSHOT = {
  "index.js": `exports.handler = async () => ({ snapshot: process.execArgv.includes("--snapshot-blob") });`,
};

interface SnapshotHealth {
  dir: string;
  ready: number[];
  building: number | null;
  queued: number[];
  failed: number[];
}

async function snapshotHealth(t: TestPlatform): Promise<SnapshotHealth | "off"> {
  const r = await t.api("GET", "/healthz");
  return (r.json as { nodeSnapshots: SnapshotHealth | "off" }).nodeSnapshots;
}

/** Polls /healthz until the blob for this heap limit is there. */
async function waitReady(t: TestPlatform, heapMb: number): Promise<SnapshotHealth> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const h = await snapshotHealth(t);
    if (h === "off") throw new Error("snapshots are off");
    if (h.ready.includes(heapMb)) return h;
    if (h.failed.includes(heapMb) || Date.now() > deadline) {
      throw new Error(`no snapshot for heap ${heapMb}: ${JSON.stringify(h)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("Node startup snapshots through the platform", () => {
  const root = makeTempDir("snapshots-api");
  const platforms: TestPlatform[] = [];
  afterAll(async () => {
    for (const t of platforms) await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("builds the relay's at start and a function size's on its first start, then uses it", async () => {
    const dir = path.join(root, "cache");
    const t = await startTestPlatform({ nodeSnapshots: dir });
    platforms.push(t);
    // The bootstrap relay's heap limit is queued at start-up (the pool is off in tests).
    const h = await waitReady(t, 32);
    expect(h.dir).toBe(dir);
    expect(h.failed).toEqual([]);

    // 128 MB → heap 96: nothing built yet, so this first start goes without and queues it.
    await deployFunction(t, "snap-a", "Node.js20.15", FROM_SNAPSHOT, { memory_size: 128 });
    const first = await invoke(t, "snap-a", {});
    expect(first.result).toEqual({ snapshot: false });
    expect(first.summary.coldStart).toBe(true);

    await waitReady(t, 96);
    await deployFunction(t, "snap-b", "Node.js20.15", FROM_SNAPSHOT, { memory_size: 128 });
    const second = await invoke(t, "snap-b", {});
    expect(second.result).toEqual({ snapshot: true });
    expect(second.summary.coldStart).toBe(true);
  }, 120_000);

  it("starts node as before with FNGRAPH_NODE_SNAPSHOTS=off", async () => {
    const t = await startTestPlatform({ nodeSnapshots: "off" });
    platforms.push(t);
    expect(await snapshotHealth(t)).toBe("off");
    await deployFunction(t, "snap-off", "Node.js20.15", FROM_SNAPSHOT, { memory_size: 128 });
    expect((await invoke(t, "snap-off", {})).result).toEqual({ snapshot: false });
  });
});
