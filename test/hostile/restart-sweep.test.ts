import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { detectIsolation } from "../../src/sandbox/index.js";
import { killChildPlatforms, startChildPlatform } from "../helpers/child-platform.js";
import { call, createBody, getToken, NODE_ECHO } from "../helpers/platform.js";
import { allPlatformGroups, mountsUnder, waitFor } from "./helpers.js";

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "fngraph-sweep-"));
const tmpVolumes = path.join(dataDir, "sandbox", "tmp");
const silent = pino({ level: "silent" });
const tier = (
  await detectIsolation({ forced: "auto", logger: silent, uid: 1003, gid: 1003 }).catch(() => ({
    tier: "C",
  }))
).tier;

/** `fngraph serve` as a real process (tsx, from source) on port 0, tier A. */
const startServer = () => startChildPlatform({ dataDir, isolation: "A" });

afterAll(async () => {
  await killChildPlatforms();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe.skipIf(tier !== "A")("start-up sweep after a platform was killed (tier A)", () => {
  it("removes the cgroups and /tmp loop mounts a kill -9'd platform left", async () => {
    const first = await startServer();
    const c = first.creds;
    const h = {
      "X-Auth-Token": await getToken(c.endpoint, c.user, c.password, c.domain_name, c.region),
    };
    const fns = `/v2/${c.project_id}/fgs/functions`;
    const created = await call(
      c.endpoint,
      "POST",
      fns,
      await createBody("sweep-echo", "Node.js20.15", NODE_ECHO),
      h,
    );
    expect(created.status).toBe(200);
    const inv = await call(c.endpoint, "POST", `${fns}/sweep-echo/invocations`, { n: 1 }, h);
    expect(inv.status).toBe(200);
    // Instance groups are named by instance id, which prewarmed runtimes do not tie to a function.
    const oldGroups = allPlatformGroups(dataDir);
    expect(oldGroups.length).toBeGreaterThan(0);
    const oldMounts = mountsUnder(tmpVolumes);
    expect(oldMounts.length).toBeGreaterThan(0);

    await first.stop("SIGKILL");
    // --die-with-parent took the instances; their (now empty) groups and the mounts stay behind.
    expect(allPlatformGroups(dataDir).length).toBeGreaterThan(0);
    expect(mountsUnder(tmpVolumes).length).toBeGreaterThan(0);

    const second = await startServer();
    const leftGroups = allPlatformGroups(dataDir).filter((g) => oldGroups.includes(g));
    expect(leftGroups).toEqual([]);
    const leftMounts = mountsUnder(tmpVolumes).filter((m) => oldMounts.includes(m));
    expect(leftMounts).toEqual([]);
    const oldImages = fs
      .readdirSync(tmpVolumes)
      .filter((e) => e.startsWith(`v${first.child.pid}-`));
    expect(oldImages).toEqual([]);

    // The new platform works, and a clean stop leaves nothing at all.
    const c2 = second.creds;
    const h2 = {
      "X-Auth-Token": await getToken(c2.endpoint, c2.user, c2.password, c2.domain_name, c2.region),
    };
    const again = await call(c2.endpoint, "POST", `${fns}/sweep-echo/invocations`, { n: 2 }, h2);
    expect((again.json as { event: unknown }).event).toEqual({ n: 2 });
    await second.stop("SIGTERM");
    expect(second.child.exitCode).toBe(0);
    expect(await waitFor(() => allPlatformGroups(dataDir).length === 0, 3000)).toBe(true);
    expect(mountsUnder(tmpVolumes)).toEqual([]);
  }, 60_000);
});
