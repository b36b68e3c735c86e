import Database from "better-sqlite3";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { call, createBody, getToken } from "../helpers/platform.js";
import { waitFor } from "./helpers.js";

const root = path.resolve(import.meta.dirname, "..", "..");
const dataDir = mkdtempSync(path.join(os.tmpdir(), "fngraph-async-crash-"));
const children: ChildProcess[] = [];
const TOTAL = 1000;

interface Creds {
  endpoint: string;
  project_id: string;
  user: string;
  password: string;
  domain_name: string;
  region: string;
}

/** `fngraph serve` as a real process on the shared data dir. */
async function startServer(): Promise<{ child: ChildProcess; creds: Creds; token: string }> {
  const credFile = path.join(dataDir, "credentials.json");
  rmSync(credFile, { force: true });
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(root, "src", "entry.ts"),
      "serve",
      "--port",
      "0",
      "--gateway-port",
      "0",
      "--data-dir",
      dataDir,
      "--isolation",
      "C",
      "--log-level",
      "warn",
    ],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FNGRAPH_HOST: "127.0.0.1" },
    },
  );
  children.push(child);
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`server exited early (${code}): ${out}`));
    child.once("exit", onExit);
    const check = setInterval(() => {
      if (out.includes("fngraph is running")) {
        clearInterval(check);
        child.off("exit", onExit);
        resolve();
      }
    }, 20);
  });
  const creds = JSON.parse(readFileSync(credFile, "utf8")) as Creds;
  const token = await getToken(
    creds.endpoint,
    creds.user,
    creds.password,
    creds.domain_name,
    creds.region,
  );
  return { child, creds, token };
}

function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`).startsWith(dir)) pids.push(Number(name));
    } catch {
      // gone or not ours to read
    }
  }
  return pids;
}

const records = z.object({
  invocations: z.array(
    z.object({ request_id: z.string(), status: z.string(), invoke_count: z.number() }),
  ),
  count: z.number(),
});

/** Every record of the function (all pages). */
async function allRecords(s: { creds: Creds; token: string }, urn: string) {
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
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
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
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));
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
    second.child.kill("SIGTERM");
    await new Promise((r) => second.child.once("exit", r));
  }, 90_000);
});
