/**
 * `npm run bench:cpu`: where a warm no-op call's CPU goes under closed-loop load, and how builds
 * compare. Not part of `npm run bench` (its figures are what the issue asks for); this is the
 * tool behind the ablations in docs/scaling.md, kept in the repository so that a fresh machine
 * has it.
 *
 * Each variant (the working tree or a git ref, optionally with FNGRAPH_* settings) runs as its own
 * server with one no-op function; the floor (bench/floor-server.ts) runs beside them unless
 * --no-floor. Every round loads each of them in turn with autocannon (32 connections) and reads,
 * from /proc before and after, the CPU per call of: the server's main thread, the whole server
 * process (its store worker and V8's threads too), the processes below the server (the instances:
 * bwrap and the runtime), and this process (the load generator); and how busy the CPUs were.
 * Throughput follows the main thread's CPU per call almost inversely (docs/scaling.md).
 *
 * Rounds alternate: a variant's runs sit between the others', and --order alt reverses the order
 * every other round (the first server of a pair can read better: docs/scaling.md).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { createFnApi } from "./lib/api.js";
import { startFloor, type Floor } from "./lib/floor.js";
import {
  createFunction,
  floorTarget,
  fngraphTarget,
  NODE_RUNTIME,
  expectEcho,
} from "./lib/functions.js";
import { NODE_NOOP } from "./lib/handlers.js";
import { loadOptions, type Target } from "./lib/measure.js";
import { descendants } from "./lib/memory.js";
import { startServer, type Server } from "./lib/server.js";

const USAGE = `usage: npm run bench:cpu -- [options]
  --variants <list>     ";"-separated: "wt" (the working tree) or a git ref, each optionally
                        followed by "|K=V,K=V" server environment (default "wt")
                        e.g. --variants "HEAD~1;wt" or --variants "wt;wt|FNGRAPH_ISOLATION=C"
  --runs <n>            rounds (default 4)
  --duration <s>        seconds of load per run (default 4)
  --concurrent-num <n>  strategy_config.concurrent_num of the function (default 32)
  --order alt           reverse the order of the servers every other round
  --no-floor            no floor server
  --threads             print each server thread's CPU per call
  --node-options=<opts> node options for every variant's server (e.g. --perf-basic-prof)
  --server-output       print the last 64 KiB of each server's output when it stops (--trace-gc)
  -h, --help`;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CONNECTIONS = 32;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on Linux everywhere here). */
const TICKS = 100;

/** utime + stime of a /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat file, in seconds. */
function cpuSeconds(statFile: string): number {
  try {
    const s = readFileSync(statFile, "utf8");
    // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return 0; // the process or thread is gone
  }
}

/** Busy and total jiffies of all CPUs (/proc/stat's first line). */
function cpuTotals(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
}

function threadTimes(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let name = "?";
    try {
      name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
    } catch {
      continue;
    }
    out.set(`${name}/${tid}`, cpuSeconds(`/proc/${pid}/task/${tid}/stat`));
  }
  return out;
}

interface Reading {
  main: number;
  process: number;
  instances: number;
  loadgen: number;
  cpus: { busy: number; total: number };
  threads: Map<string, number>;
}

function read(pid: number): Reading {
  const own = process.cpuUsage();
  return {
    main: cpuSeconds(`/proc/${pid}/task/${pid}/stat`),
    process: cpuSeconds(`/proc/${pid}/stat`),
    instances: descendants(pid).reduce((sum, p) => sum + cpuSeconds(`/proc/${p}/stat`), 0),
    loadgen: (own.user + own.system) / 1e6,
    cpus: cpuTotals(),
    threads: threadTimes(pid),
  };
}

async function load(target: Target, durationS: number): Promise<{ ok: number; bad: number }> {
  const r = await autocannon({ ...loadOptions(target, CONNECTIONS), duration: durationS });
  return { ok: r["2xx"], bad: r.non2xx + r.errors + r.timeouts };
}

interface Variant {
  name: string;
  pid: number;
  output: () => string;
  target: Target;
  stop: () => Promise<void>;
  runs: { reqPerSec: number; mainUs: number }[];
}

/** "ref|K=V,K=V" → the ref ("wt": the working tree) and the server's extra environment. */
function parseVariant(spec: string): { ref: string | undefined; env: Record<string, string> } {
  const [ref = "wt", settings = ""] = spec.split("|");
  const env: Record<string, string> = { FNGRAPH_PREWARM: "off" };
  for (const kv of settings.split(",").filter(Boolean)) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new Error(`bad setting "${kv}" in variant "${spec}" (K=V expected)`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return { ref: ref === "wt" ? undefined : ref, env };
}

async function startVariant(
  spec: string,
  concurrentNum: number,
  nodeArgs: string[],
): Promise<Variant> {
  const { ref, env } = parseVariant(spec);
  const server: Server = await startServer({
    repoRoot,
    isolation: undefined,
    useDist: false,
    ref,
    log,
    env,
    nodeArgs,
  });
  try {
    const api = await createFnApi(server.credentials);
    const urn = await createFunction(api, {
      name: "bench-cpu-noop",
      runtime: NODE_RUNTIME,
      file: "index.js",
      source: NODE_NOOP,
      memoryMb: 128,
      strategy: { concurrency: -1, concurrent_num: concurrentNum },
    });
    const target = fngraphTarget(api, urn);
    const first = await api.invoke(urn, target.body);
    expectEcho(first.status, first.body);
    await load(target, 2); // instances up, code compiled
    return {
      name: spec,
      pid: server.pid,
      target,
      runs: [],
      output: () => server.output(),
      stop: async () => {
        await api.close();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

async function floorVariant(): Promise<Variant> {
  const floor: Floor = await startFloor(repoRoot);
  return {
    name: "floor",
    pid: floor.pid,
    target: floorTarget(floor.origin, "noop"),
    runs: [],
    output: () => "",
    stop: () => floor.stop(),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      variants: { type: "string", default: "wt" },
      runs: { type: "string", default: "4" },
      duration: { type: "string", default: "4" },
      "concurrent-num": { type: "string", default: "32" },
      order: { type: "string", default: "" },
      "no-floor": { type: "boolean", default: false },
      threads: { type: "boolean", default: false },
      "node-options": { type: "string", default: "" },
      "server-output": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    return;
  }
  const runs = Number(values.runs);
  const durationS = Number(values.duration);
  const concurrentNum = Number(values["concurrent-num"]);
  if (!(runs >= 1 && durationS >= 1 && concurrentNum >= 1 && concurrentNum <= 1000)) {
    throw new Error(`bad --runs, --duration or --concurrent-num\n${USAGE}`);
  }
  const nodeArgs = values["node-options"].split(" ").filter(Boolean);
  const variants: Variant[] = [];
  try {
    if (!values["no-floor"]) variants.push(await floorVariant());
    for (const spec of values.variants.split(";").filter(Boolean)) {
      variants.push(await startVariant(spec, concurrentNum, nodeArgs));
    }
    for (let round = 0; round < runs; round++) {
      const order = values.order === "alt" && round % 2 ? [...variants].reverse() : variants;
      for (const v of order) {
        const before = read(v.pid);
        const t0 = performance.now();
        const { ok, bad } = await load(v.target, durationS);
        const seconds = (performance.now() - t0) / 1000;
        const after = read(v.pid);
        const perCall = (s: number): string => ((s / Math.max(ok, 1)) * 1e6).toFixed(1);
        const busy =
          ((after.cpus.busy - before.cpus.busy) / (after.cpus.total - before.cpus.total)) * 100;
        const reqPerSec = ok / seconds;
        v.runs.push({ reqPerSec, mainUs: ((after.main - before.main) / Math.max(ok, 1)) * 1e6 });
        log(
          `round ${round} ${v.name.padEnd(24)} ${reqPerSec.toFixed(0).padStart(6)} req/s · µs per call: ` +
            `main thread ${perCall(after.main - before.main)}, process ${perCall(after.process - before.process)}, ` +
            `instances ${perCall(after.instances - before.instances)}, load generator ${perCall(after.loadgen - before.loadgen)} · ` +
            `CPUs ${busy.toFixed(0)} % busy${bad ? ` · ${bad} failed` : ""}`,
        );
        if (values.threads) {
          const parts: string[] = [];
          for (const [t, s] of after.threads) {
            const d = s - (before.threads.get(t) ?? s);
            if (d > 0) parts.push(`${t} ${perCall(d)}`);
          }
          log(`  threads: ${parts.join(", ")}`);
        }
      }
    }
  } finally {
    for (const v of variants) {
      await v.stop();
      if (values["server-output"]) log(`--- ${v.name} output (tail)\n${v.output()}`);
    }
  }
  const floor = variants[0]?.name === "floor" ? variants[0] : undefined;
  process.stdout.write(
    `| server | median req/s | median main-thread µs/call | share of the floor by round |\n`,
  );
  process.stdout.write(`|:---|---:|---:|:---|\n`);
  for (const v of variants) {
    const shares = floor
      ? v.runs
          .map(
            (r, i) => `${((r.reqPerSec / (floor.runs[i]?.reqPerSec ?? NaN)) * 100).toFixed(0)} %`,
          )
          .join(", ")
      : "";
    process.stdout.write(
      `| ${v.name} | ${median(v.runs.map((r) => r.reqPerSec)).toFixed(0)} | ` +
        `${median(v.runs.map((r) => r.mainUs)).toFixed(1)} | ${shares} |\n`,
    );
  }
}

await main();
