import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { createInstance, type Instance } from "../../src/runtimes/instance.js";
import { createRuntimeRegistry } from "../../src/runtimes/registry.js";
import type { RuntimeDef } from "../../src/runtimes/types.js";
import { BENCH_CONTEXT as CONTEXT } from "../lib/invoke-context.js";
import { createSandbox } from "../../src/sandbox/index.js";
import { createPlainProcessSandbox } from "../../src/sandbox/plain-process.js";
import type { Sandbox } from "../../src/sandbox/types.js";
import type { BenchContext } from "../lib/context.js";
import { EVENT, NODE_NOOP, PYTHON_NOOP } from "../lib/handlers.js";
import { fmtMs, latencyOverhead } from "../lib/report.js";
import { round, summarize } from "../lib/stats.js";

/**
 * The sandbox's own cost, without HTTP, auth or pools: the bench process launches instances
 * directly (src/runtimes/instance.ts) in a plain process (tier C) and in tier A, interleaved.
 * Cold = launch → `ready` → `load` → first invoke's result; warm = one invoke on a live instance.
 * Needs root, bwrap and cgroups (tier A); skipped otherwise.
 */
export async function sandboxSection(ctx: BenchContext): Promise<void> {
  const logger = pino({ level: "silent" });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "fngraph-bench-sandbox-"));
  chmodSync(dataDir, 0o755);
  let tierA: Sandbox | undefined;
  const tierC = createPlainProcessSandbox({ logger });
  try {
    try {
      tierA = await createSandbox({
        isolation: "A",
        dataDir,
        logger,
        createPlain: () => tierC,
      });
    } catch (err) {
      ctx.log(`sandbox: tier A unavailable, section skipped (${String(err)})`);
      return;
    }
    const runtimes = createRuntimeRegistry({ nodePath: process.execPath });
    const langs = [
      { label: "Node.js", runtime: "Node.js20.15", file: "index.js", source: NODE_NOOP },
      { label: "Python", runtime: "Python3.10", file: "index.py", source: PYTHON_NOOP },
    ];
    const starts = ctx.plan.cold.starts;
    const warmCalls = Math.max(200, ctx.plan.latency.noop.requests / 2);
    for (const lang of langs) {
      const runtime = runtimes.get(lang.runtime);
      if (!runtime) throw new Error(`no runtime ${lang.runtime}`);
      const dir = mkdtempSync(path.join(dataDir, "code-"));
      chmodSync(dir, 0o755);
      writeFileSync(path.join(dir, lang.file), lang.source, { mode: 0o644 });
      const tiers: [string, Sandbox][] = [
        ["C", tierC],
        ["A", tierA],
      ];
      const cold: Record<string, number[]> = { C: [], A: [] };
      const phases: Record<string, { sandbox: number[]; boot: number[]; load: number[] }> = {
        C: { sandbox: [], boot: [], load: [] },
        A: { sandbox: [], boot: [], load: [] },
      };
      const warm: Record<string, number[]> = { C: [], A: [] };
      ctx.log(`sandbox: ${lang.label} · ${starts} + 1 cold starts per tier, interleaved`);
      for (let i = 0; i <= starts; i++) {
        for (const [name, sb] of i % 2 === 0 ? tiers : [...tiers].reverse()) {
          const t0 = performance.now();
          const inst = await start(sb, runtime, dir, `b${name}${i}`, logger);
          await invokeOnce(inst);
          const ms = performance.now() - t0;
          if (i > 0) {
            cold[name]?.push(ms);
            phases[name]?.sandbox.push(inst.timings.sandboxMs);
            phases[name]?.boot.push(inst.timings.bootMs);
            phases[name]?.load.push(inst.timings.loadMs);
          }
          // The warm path on the last instance of each tier.
          if (i === starts) {
            for (let k = 0; k < 50; k++) await invokeOnce(inst);
            for (let k = 0; k < warmCalls; k++) {
              const w0 = performance.now();
              await invokeOnce(inst);
              warm[name]?.push(performance.now() - w0);
            }
          }
          await inst.close();
        }
      }
      const c = summarize(cold["C"] ?? []);
      const a = summarize(cold["A"] ?? []);
      const med = (xs: number[]) => summarize(xs).p50;
      const anatomy = (name: string) => {
        const p = phases[name];
        return p
          ? `sandbox ${fmtMs(med(p.sandbox))} / boot ${fmtMs(med(p.boot))} / load ${fmtMs(med(p.load))}`
          : "";
      };
      ctx.addRow({
        section: "cold",
        scenario: `sandbox cold start ${lang.label} · tier C (plain process)`,
        system: "floor",
        p50Ms: c.p50,
        tailMs: c.p95,
        tailLabel: "p95",
        notes: `launch → first result, in-process; p50s: ${anatomy("C")}`,
        detail: {
          samplesMs: (cold["C"] ?? []).map((x) => round(x)),
          summary: c,
          phases: phases["C"],
        },
      });
      ctx.addRow({
        section: "cold",
        scenario: `sandbox cold start ${lang.label} · tier A`,
        system: "fngraph",
        p50Ms: a.p50,
        tailMs: a.p95,
        tailLabel: "p95",
        vsFloor: latencyOverhead(a.p50, c.p50),
        notes: `vs tier C; target ≤ +20 ms; p50s: ${anatomy("A")}`,
        detail: {
          samplesMs: (cold["A"] ?? []).map((x) => round(x)),
          summary: a,
          phases: phases["A"],
        },
      });
      const wc = summarize(warm["C"] ?? []);
      const wa = summarize(warm["A"] ?? []);
      ctx.addRow({
        section: "latency",
        scenario: `sandbox warm invoke ${lang.label} · tier C (plain process)`,
        system: "floor",
        p50Ms: wc.p50,
        tailMs: wc.p99,
        tailLabel: "p99",
        notes: `${warmCalls} sequential invokes on one instance, fd-3 protocol only`,
        detail: { summary: wc },
      });
      ctx.addRow({
        section: "latency",
        scenario: `sandbox warm invoke ${lang.label} · tier A`,
        system: "fngraph",
        p50Ms: wa.p50,
        tailMs: wa.p99,
        tailLabel: "p99",
        vsFloor: latencyOverhead(wa.p50, wc.p50),
        notes: "vs tier C; target ≤ +0.1 ms (cgroup peak reset + read, OOM counter read)",
        detail: { summary: wa },
      });
    }
  } finally {
    await tierA?.close();
    await tierC.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function start(
  sandbox: Sandbox,
  runtime: RuntimeDef,
  codeDir: string,
  id: string,
  logger: pino.Logger,
): Promise<Instance> {
  return createInstance({
    id: `bench-${id}-${process.pid}`,
    sandbox,
    runtime,
    codeDir,
    memoryMb: 128,
    cpuMillicores: 300,
    tmpMb: 512,
    network: "full",
    mounts: [],
    load: { handler: "index.handler", initializer: "", initializerTimeoutMs: 0, env: {} },
    logger,
  });
}

async function invokeOnce(inst: Instance): Promise<void> {
  const out = await inst.invoke(
    EVENT,
    { ...CONTEXT, deadline: Date.now() + 10_000 },
    {
      timeoutMs: 10_000,
    },
  );
  if (!out.ok || JSON.parse(out.result) === null) {
    throw new Error(`sandbox bench: invoke failed: ${JSON.stringify(out)}`);
  }
}
