import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { call, createBody, getToken, NODE_ECHO, PY_ECHO } from "../helpers/platform.js";

const root = path.resolve(import.meta.dirname, "..", "..");
const dataDir = mkdtempSync(path.join(os.tmpdir(), "fngraph-restart-"));
const children: ChildProcess[] = [];

interface Creds {
  endpoint: string;
  gateway_endpoint: string;
  project_id: string;
  user: string;
  password: string;
  domain_name: string;
  region: string;
  access_key: string;
}

/** `fngraph serve` as a real process (through tsx, from source), on port 0. */
async function startServer(): Promise<{ child: ChildProcess; creds: Creds }> {
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
  expect(out).toContain(creds.endpoint);
  return { child, creds };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  child.kill("SIGTERM");
  return exited;
}

/** Pids whose working directory is inside `dir` (function instances run in their code dir). */
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

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
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
    expect(await stop(first.child)).toBe(0);
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
    expect(await stop(second.child)).toBe(0);
  }, 60_000);
});
