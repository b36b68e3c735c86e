/**
 * `npx tsx bench/async.ts [--isolation A|B|C] [--seconds 5] [--samples 200]`
 *
 * Async invocation (issue 6): accepted async requests per second with the durable commit
 * (the 202 leaves only after the SQLite WAL is fsynced), and the latency from the 202 to the
 * handler's first line when the platform is idle. The server runs as its own process
 * (`fngraph serve` through tsx) on a temp data dir; the handler's start time is read from its
 * invocation record (same host clock). Prints a table and writes bench/results/<date>-async.json.
 */
import Database from "better-sqlite3";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { zipOneFile } from "./lib/zip.js";
import { findInvocation } from "../src/store/sqlite/invocation-rows.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    isolation: { type: "string" },
    seconds: { type: "string", default: "5" },
    samples: { type: "string", default: "200" },
    connections: { type: "string", default: "64" },
  },
});
const log = (l: string) => process.stderr.write(`[bench async] ${l}\n`);

interface Creds {
  endpoint: string;
  project_id: string;
  user: string;
  password: string;
  domain_name: string;
  region: string;
}

const HANDLER = `exports.handler = async (event) => {
  console.log("T0=" + Date.now());
  return "ok";
};`;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "fngraph-bench-async-"));
  const args = ["--import", "tsx", path.join(root, "src", "entry.ts"), "serve"];
  args.push("--port", "0", "--gateway-port", "0", "--data-dir", dataDir, "--log-level", "warn");
  if (values.isolation) args.push("--isolation", values.isolation);
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      child.once("exit", (c) => reject(new Error(`server exited (${c}): ${out}`)));
      const t = setInterval(() => {
        if (out.includes("fngraph is running")) {
          clearInterval(t);
          resolve();
        }
      }, 20);
    });
    const c = JSON.parse(readFileSync(path.join(dataDir, "credentials.json"), "utf8")) as Creds;
    const pool = new Pool(c.endpoint, { connections: Number(values.connections) });
    const req = async (method: "GET" | "POST", p: string, body?: unknown, h = {}) => {
      const r = await pool.request({
        method,
        path: p,
        headers: { "content-type": "application/json", ...h },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: r.statusCode, headers: r.headers, text: await r.body.text() };
    };
    const tok = await req("POST", "/v3/auth/tokens", {
      auth: {
        identity: {
          methods: ["password"],
          password: {
            user: { name: c.user, password: c.password, domain: { name: c.domain_name } },
          },
        },
        scope: { project: { name: c.region } },
      },
    });
    const h = { "x-auth-token": String(tok.headers["x-subject-token"]) };
    const health = JSON.parse((await req("GET", "/healthz")).text) as {
      isolation?: { tier?: string };
    };
    const created = await req(
      "POST",
      `/v2/${c.project_id}/fgs/functions`,
      {
        func_name: "bench-async",
        package: "default",
        runtime: "Node.js20.15",
        handler: "index.handler",
        memory_size: 128,
        timeout: 30,
        code_type: "zip",
        func_code: { file: await zipOneFile("index.js", HANDLER) },
        strategy_config: { concurrency: 4, concurrent_num: 100 },
      },
      h,
    );
    if (created.status !== 200) throw new Error(created.text);
    const invokePath = `/v2/${c.project_id}/fgs/functions/bench-async/invocations-async`;
    const accept = async (): Promise<string> => {
      const r = await req("POST", invokePath, { k: 1 }, h);
      if (r.status !== 202) throw new Error(`HTTP ${r.status}: ${r.text}`);
      return (JSON.parse(r.text) as { request_id: string }).request_id;
    };
    const db = new Database(path.join(dataDir, "fngraph.db"), { readonly: true });
    // The record as the store reads it back (most are many to a row: invocation-rows.ts); the
    // handler's own output is in `log` whether or not the record has a log frame.
    const handlerStart = (id: string): number | undefined => {
      const m = /T0=(\d+)/.exec(findInvocation(db, id)?.log ?? "");
      return m ? Number(m[1]) : undefined;
    };
    const waitStart = async (id: string): Promise<number> => {
      const end = Date.now() + 10_000;
      for (;;) {
        const t = handlerStart(id);
        if (t !== undefined) return t;
        if (Date.now() > end) throw new Error(`request ${id} never started`);
        await new Promise((r) => setTimeout(r, 1));
      }
    };

    // Warm the instance, then idle latency: one request at a time.
    await waitStart(await accept());
    const samples: number[] = [];
    for (let i = 0; i < Number(values.samples); i++) {
      const id = await accept();
      const acceptedAt = Date.now();
      samples.push((await waitStart(id)) - acceptedAt);
    }
    samples.sort((a, b) => a - b);
    const pct = (p: number) =>
      samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))]!;

    // Throughput: `connections` clients accept as fast as they can for `seconds`.
    const seconds = Number(values.seconds);
    log(`throughput: ${values.connections} connections for ${seconds} s`);
    let accepted = 0;
    const cpu0 = cpuMs(child.pid!);
    const stopAt = Date.now() + seconds * 1000;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: Number(values.connections) }, async () => {
        while (Date.now() < stopAt) {
          await accept();
          accepted++;
        }
      }),
    );
    const rate = accepted / ((performance.now() - t0) / 1000);
    // Server CPU per accepted request (accept + dispatch + records, not the instances): a
    // figure that does not depend on what else the machine is doing.
    const cpuPerRequest = (cpuMs(child.pid!) - cpu0) / accepted;
    const result = {
      date: new Date().toISOString(),
      tier: health.isolation?.tier ?? "?",
      cpus: os.cpus().length,
      accepted_per_s: Math.round(rate),
      accepted,
      server_cpu_ms_per_request: Math.round(cpuPerRequest * 1000) / 1000,
      load_average: os.loadavg().map((x) => Math.round(x * 10) / 10),
      idle_202_to_handler_ms: { p50: pct(50), p90: pct(90), p99: pct(99), n: samples.length },
    };
    db.close();
    await pool.close();
    console.log(`| metric | value | target |
|---|---|---|
| accepted async requests/s (durable commit, ${values.connections} connections, dispatcher running) | ${result.accepted_per_s} | ≥ 2,000 |
| server CPU per accepted request (ms; 1000 / it = requests/s one free core sustains) | ${result.server_cpu_ms_per_request} | |
| 202 → handler start, idle, p50 / p90 / p99 (ms) | ${pct(50)} / ${pct(90)} / ${pct(99)} | p50 ≤ 10 |
tier ${result.tier}, ${result.cpus} CPUs, load average ${result.load_average.join(" ")}`);
    mkdirSync(path.join(root, "bench", "results"), { recursive: true });
    const file = path.join(root, "bench", "results", `${result.date.slice(0, 10)}-async.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
    log(`wrote ${path.relative(root, file)}`);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** utime + stime of a process, ms (Linux /proc, 100 ticks per second). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

await main();
