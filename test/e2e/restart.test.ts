import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { killChildPlatforms, processesIn, startChildPlatform } from "../helpers/child-platform.js";
import { call, createBody, getToken, NODE_ECHO, PY_ECHO } from "../helpers/platform.js";

const dataDir = mkdtempSync(path.join(os.tmpdir(), "fngraph-restart-"));

/** `fngraph serve` as a real process, its banner naming the endpoint of credentials.json. */
async function startServer() {
  const s = await startChildPlatform({ dataDir });
  expect(s.output()).toContain(s.creds.endpoint);
  return s;
}

afterAll(async () => {
  await killChildPlatforms();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the platform as a process: credentials, SIGTERM, restart", () => {
  it("keeps identity, functions and code across a restart, and stops cleanly on SIGTERM", async () => {
    const first = await startServer();
    const credFile = path.join(dataDir, "credentials.json");
    expect(statSync(credFile).mode & 0o777).toBe(0o600);
    const c = first.creds;
    expect(c.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(c.gateway_endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(c.endpoint).not.toMatch(/:8080$/);
    const token = await getToken(c.endpoint, c.user, c.password, c.domain_name, c.region);
    const h = { "X-Auth-Token": token };
    for (const [name, rt, files] of [
      ["keep-node", "Node.js20.15", NODE_ECHO],
      ["keep-py", "Python3.10", PY_ECHO],
    ] as const) {
      const r = await call(
        c.endpoint,
        "POST",
        `/v2/${c.project_id}/fgs/functions`,
        await createBody(name, rt, files),
        h,
      );
      expect(r.status).toBe(200);
      const inv = await call(
        c.endpoint,
        "POST",
        `/v2/${c.project_id}/fgs/functions/${name}/invocations`,
        { n: 1 },
        h,
      );
      expect((inv.json as { event: unknown }).event).toEqual({ n: 1 });
    }
    expect(processesIn(dataDir).length).toBeGreaterThan(0);
    expect(await first.stop()).toBe(0);
    expect(processesIn(dataDir)).toEqual([]);

    const second = await startServer();
    const c2 = second.creds;
    expect(c2.project_id).toBe(c.project_id);
    expect(c2.access_key).toBe(c.access_key);
    expect(c2.password).toBe(c.password);
    const token2 = await getToken(c2.endpoint, c2.user, c2.password, c2.domain_name, c2.region);
    for (const name of ["keep-node", "keep-py"]) {
      const inv = await call(
        c2.endpoint,
        "POST",
        `/v2/${c2.project_id}/fgs/functions/${name}/invocations`,
        { n: 2 },
        { "X-Auth-Token": token2 },
      );
      expect(inv.status).toBe(200);
      expect((inv.json as { event: unknown }).event).toEqual({ n: 2 });
    }
    const oldToken = await call(
      c2.endpoint,
      "GET",
      `/v2/${c2.project_id}/fgs/functions`,
      undefined,
      h,
    );
    expect(oldToken.status).toBe(200);
    expect(await second.stop()).toBe(0);
  }, 60_000);
});
