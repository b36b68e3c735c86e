import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { killChildPlatforms, processesIn, startChildPlatform } from "../helpers/child-platform.js";
import { call, createBody, getToken, NODE_ECHO } from "../helpers/platform.js";

const dataDir = mkdtempSync(path.join(os.tmpdir(), "fngraph-hangup-"));

afterAll(async () => {
  await killChildPlatforms();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the platform when its terminal goes away", () => {
  it("shuts down cleanly on SIGHUP, with its stdout already closed", async () => {
    const s = await startChildPlatform({ dataDir });
    const c = s.creds;
    const h = {
      "X-Auth-Token": await getToken(c.endpoint, c.user, c.password, c.domain_name, c.region),
    };
    const fns = `/v2/${c.project_id}/fgs/functions`;
    expect(
      (await call(c.endpoint, "POST", fns, await createBody("hup", "Node.js20.15", NODE_ECHO), h))
        .status,
    ).toBe(200);
    const inv = await call(c.endpoint, "POST", `${fns}/hup/invocations`, { n: 1 }, h);
    expect(inv.status).toBe(200);
    expect(processesIn(dataDir).length).toBeGreaterThan(0);
    // The terminal is gone: nobody reads the platform's output any more.
    s.child.stdout?.destroy();
    s.child.stderr?.destroy();
    expect(await s.stop("SIGHUP")).toBe(0);
    expect(processesIn(dataDir)).toEqual([]);
  });
});
