import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { killChildPlatforms, processesIn, startChildPlatform } from "../helpers/child-platform.js";
import { call, createBody, getToken } from "../helpers/platform.js";
import { waitFor } from "./helpers.js";

const dataDir = mkdtempSync(path.join(os.tmpdir(), "fngraph-async-crash-"));
const TOTAL = 1000;

/** `fngraph serve` as a real process on the shared data dir, with a token. */
async function startServer() {
  const s = await startChildPlatform({ dataDir });
  const c = s.creds;
  return { ...s, token: await getToken(c.endpoint, c.user, c.password, c.domain_name, c.region) };
}

const records = z.object({
  invocations: z.array(
    z.object({ request_id: z.string(), status: z.string(), invoke_count: z.number() }),
  ),
  count: z.number(),
});

/** Every record of the function (all pages). */
async function allRecords(s: Awaited<ReturnType<typeof startServer>>, urn: string) {
  const out: z.infer<typeof records>["invocations"] = [];
  for (let marker = 0; ; marker += 500) {
    const r = await call(
      s.creds.endpoint,
      "GET",
      `/v2/${s.creds.project_id}/fgs/functions/${urn}/async-invocations?limit=500&marker=${marker}`,
      undefined,
      { "X-Auth-Token": s.token },
    );
    const page = records.parse(r.json);
    out.push(...page.invocations);
    if (page.invocations.length < 500) return out;
  }
}

afterAll(async () => {
  await killChildPlatforms();
  // Instances of the killed platform notice their channel closed and exit.
  await waitFor(() => (processesIn(dataDir).length === 0 ? true : undefined), 10_000).catch(() => {
    for (const pid of processesIn(dataDir)) process.kill(pid, "SIGKILL");
  });
  rmSync(dataDir, { recursive: true, force: true });
});

describe("async durability across kill -9", () => {
  it("finishes every accepted request after a crash and a restart, retrying cut-short calls", async () => {
    const first = await startServer();
    const { endpoint, project_id: project } = first.creds;
    const h = { "X-Auth-Token": first.token };
    const body = await createBody(
      "crash-sleeper",
      "Node.js20.15",
      {
        "index.js": `exports.handler = async (e) => { await new Promise((r) => setTimeout(r, 400)); return e.i; };`,
      },
      { strategy_config: { concurrency: 2, concurrent_num: 50 } },
    );
    expect((await call(endpoint, "POST", `/v2/${project}/fgs/functions`, body, h)).status).toBe(
      200,
    );
    const urn = "crash-sleeper";

    const accepted: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < TOTAL) {
          const i = next++;
          const r = await call(
            endpoint,
            "POST",
            `/v2/${project}/fgs/functions/${urn}/invocations-async`,
            { i },
            h,
          );
          expect(r.status).toBe(202);
          accepted.push((r.json as { request_id: string }).request_id);
        }
      }),
    );
    expect(accepted).toHaveLength(TOTAL);
    await first.stop("SIGKILL");
    // What the dead platform left behind, read straight from its database.
    const db = new Database(path.join(dataDir, "fngraph.db"));
    const left = db.prepare("SELECT request_id, status FROM async_invocations").all() as {
      request_id: string;
      status: string;
    }[];
    db.close();
    expect(left).toHaveLength(TOTAL);
    const running = left.filter((r) => r.status === "RUNNING").map((r) => r.request_id);
    const waiting = left.filter((r) => r.status === "WAIT").length;
    expect(waiting + running.length).toBeGreaterThan(200);
    expect(running.length).toBeGreaterThan(0);

    const second = await startServer();
    const after = await waitFor(
      async () => {
        const all = await allRecords(second, urn);
        return all.filter((r) => ["SUCCESS", "FAIL", "DISCARD"].includes(r.status)).length >= TOTAL
          ? all
          : undefined;
      },
      60_000,
      "every request to finish after the restart",
    );
    const byId = new Map(after.map((r) => [r.request_id, r]));
    expect(accepted.filter((id) => !byId.has(id))).toEqual([]);
    expect(after.filter((r) => r.status !== "SUCCESS")).toEqual([]);
    // The calls the crash cut short ran again.
    expect(running.every((id) => byId.get(id)!.invoke_count >= 2)).toBe(true);
    await second.stop("SIGTERM");
  }, 90_000);
});
