import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { createInstance, type Instance } from "../../src/runtimes/instance.js";
import { createRuntimeRegistry } from "../../src/runtimes/registry.js";
import type { RuntimeDef } from "../../src/runtimes/types.js";
import { BENCH_CONTEXT as CONTEXT } from "../lib/invoke-context.js";
import { createSandbox } from "../../src/sandbox/index.js";
import { createPlainProcessSandbox } from "../../src/sandbox/plain-process.js";
import type { Sandbox } from "../../src/sandbox/types.js";
import type { BenchContext } from "../lib/context.js";
import { fmtMs } from "../lib/report.js";
import { round, summarize } from "../lib/stats.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const FIXTURES = path.join(ROOT, "test", "fixtures", "functions");

interface Lang {
  label: string;
  runtime: string;
  handler: string;
  /** Fill the code dir; false when the toolchain is missing. */
  prepare(dir: string): boolean;
  event: string;
  memoryMb: number;
}

const APIG_EVENT = JSON.stringify({
  httpMethod: "GET",
  path: "/",
  headers: {},
  queryStringParameters: {},
  body: "",
  isBase64Encoded: true,
});

const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const copyFixture = (name: string) => (dir: string) => {
  cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  return true;
};

const LANGS: Lang[] = [
  {
    label: "Custom (bash bootstrap)",
    runtime: "Custom",
    handler: "bootstrap",
    prepare: copyFixture("custom-bash"),
    event: '{"a":1}',
    memoryMb: 128,
  },
  {
    label: "http (Node.js server)",
    runtime: "http",
    handler: "bootstrap",
    prepare: copyFixture("http-node"),
    event: APIG_EVENT,
    memoryMb: 128,
  },
  {
    label: "http (Python server)",
    runtime: "http",
    handler: "bootstrap",
    prepare: copyFixture("http-python"),
    event: APIG_EVENT,
    memoryMb: 128,
  },
  {
    label: "PHP",
    runtime: "PHP8.3",
    handler: "index.handler",
    prepare: (dir) => has("php") && copyFixture("php-echo")(dir),
    event: '{"a":1}',
    memoryMb: 128,
  },
  {
    label: "Java",
    runtime: "Java17",
    handler: "com.example.Echo.handler",
    prepare: (dir) => {
      if (!has("javac")) return false;
      spawnSync(process.execPath, [path.join(ROOT, "scripts", "build-java-runtime.mjs")]);
      const sdk = path.join(ROOT, "src", "runtimes", "java", "shim", "fngraph-java-sdk.jar");
      const src = path.join(FIXTURES, "java-echo", "src", "com", "example", "Echo.java");
      return spawnSync("javac", ["--release", "8", "-cp", sdk, "-d", dir, src]).status === 0;
    },
    event: '{"name":"bench","count":1}',
    memoryMb: 256,
  },
  {
    label: "Go (bootstrap binary)",
    runtime: "Go1.x",
    handler: "bootstrap",
    prepare: (dir) => {
      if (!has("go")) return false;
      const r = spawnSync("go", ["build", "-o", path.join(dir, "bootstrap"), "main.go"], {
        cwd: path.join(FIXTURES, "go-echo"),
        env: {
          ...process.env,
          CGO_ENABLED: "0",
          GO111MODULE: "off",
          GOCACHE: path.join(ROOT, ".tmp", "go-cache"),
        },
      });
      return r.status === 0;
    },
    event: '{"a":1}',
    memoryMb: 128,
  },
];

/**
 * Cold start (launch → `ready` → `load` → first result) and warm invoke of the runtimes of
 * issue 9, in tier A, straight through src/runtimes/instance.ts (no HTTP, auth or pools), like
 * the `sandbox` section. Runtimes whose toolchain is missing are left out; needs tier A.
 */
export async function languagesSection(ctx: BenchContext): Promise<void> {
  const logger = pino({ level: "silent" });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "fngraph-bench-lang-"));
  chmodSync(dataDir, 0o755);
  const plain = createPlainProcessSandbox({ logger });
  let sandbox: Sandbox | undefined;
  try {
    try {
      sandbox = await createSandbox({ isolation: "A", dataDir, logger, createPlain: () => plain });
    } catch (err) {
      ctx.log(`languages: tier A unavailable, section skipped (${String(err)})`);
      return;
    }
    const runtimes = createRuntimeRegistry({ nodePath: process.execPath });
    const starts = Math.max(5, ctx.plan.cold.starts);
    const warmCalls = 200;
    for (const lang of LANGS) {
      const runtime = runtimes.get(lang.runtime);
      const dir = path.join(dataDir, `code-${lang.runtime}-${LANGS.indexOf(lang)}`);
      mkdirSync(dir, { mode: 0o755 });
      if (!runtime || !lang.prepare(dir)) {
        ctx.log(`languages: ${lang.label} not available here, skipped`);
        continue;
      }
      openUp(dir);
      ctx.log(`languages: ${lang.label} · ${starts} cold starts, ${warmCalls} warm calls`);
      const cold: number[] = [];
      const phases = { sandbox: [] as number[], boot: [] as number[], load: [] as number[] };
      const warm: number[] = [];
      for (let i = 0; i <= starts; i++) {
        const t0 = performance.now();
        const inst = await start(sandbox, runtime, dir, lang, `${i}`, logger);
        await invokeOnce(inst, lang.event);
        const ms = performance.now() - t0;
        if (i > 0) {
          cold.push(ms);
          phases.sandbox.push(inst.timings.sandboxMs);
          phases.boot.push(inst.timings.bootMs);
          phases.load.push(inst.timings.loadMs);
        }
        if (i === starts) {
          for (let k = 0; k < 20; k++) await invokeOnce(inst, lang.event);
          for (let k = 0; k < warmCalls; k++) {
            const w0 = performance.now();
            await invokeOnce(inst, lang.event);
            warm.push(performance.now() - w0);
          }
        }
        await inst.close();
      }
      const c = summarize(cold);
      const med = (xs: number[]) => summarize(xs).p50;
      ctx.addRow({
        section: "cold",
        scenario: `cold start ${lang.label} · tier A`,
        system: "fngraph",
        p50Ms: c.p50,
        tailMs: c.p95,
        tailLabel: "p95",
        notes:
          `launch → first result, ${lang.memoryMb} MB; p50s: sandbox ${fmtMs(med(phases.sandbox))}` +
          ` / boot ${fmtMs(med(phases.boot))} / load ${fmtMs(med(phases.load))}`,
        detail: { samplesMs: cold.map((x) => round(x)), summary: c, phases },
      });
      const w = summarize(warm);
      ctx.addRow({
        section: "latency",
        scenario: `warm invoke ${lang.label} · tier A`,
        system: "fngraph",
        p50Ms: w.p50,
        tailMs: w.p99,
        tailLabel: "p99",
        notes: `${warmCalls} sequential invokes on one instance, fd-3 protocol + runtime relay`,
        detail: { summary: w },
      });
    }
  } finally {
    await sandbox?.close();
    await plain.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The sandbox uid must read the code: directories 0755, files 0644 (executables 0755). */
function openUp(dir: string): void {
  for (const e of [dir, ...walk(dir)]) {
    const st = statSync(e);
    chmodSync(e, st.isDirectory() || (st.mode & 0o111) !== 0 ? 0o755 : 0o644);
  }
}

function walk(dir: string): string[] {
  return spawnSync("find", [dir, "-mindepth", "1"], { encoding: "utf8" })
    .stdout.split("\n")
    .filter(Boolean);
}

function start(
  sandbox: Sandbox,
  runtime: RuntimeDef,
  codeDir: string,
  lang: Lang,
  id: string,
  logger: pino.Logger,
): Promise<Instance> {
  return createInstance({
    id: `bench-lang-${id}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`,
    sandbox,
    runtime,
    codeDir,
    memoryMb: lang.memoryMb,
    cpuMillicores: 300,
    tmpMb: 512,
    network: "full",
    mounts: [],
    load: {
      handler: lang.handler,
      initializer: "",
      initializerTimeoutMs: 0,
      env: { RUNTIME_FUNC_NAME: "bench" },
    },
    logger,
  });
}

let seq = 0;
async function invokeOnce(inst: Instance, event: string): Promise<void> {
  const out = await inst.invoke(
    event,
    { ...CONTEXT, requestId: `bench-${++seq}`, deadline: Date.now() + 10_000 },
    { timeoutMs: 10_000 },
  );
  if (!out.ok) throw new Error(`bench invoke failed: ${JSON.stringify(out.error)}`);
}
