import { Pool } from "undici";
import { createFnApi, type FnApi } from "../lib/api.js";
import type { BenchContext } from "../lib/context.js";
import { NODE_RUNTIME, createFunction, expectEcho, type FunctionSpec } from "../lib/functions.js";
import { EVENT, NODE_NOOP } from "../lib/handlers.js";
import { descendants, pssMb } from "../lib/memory.js";
import { fmtMs, latencyOverhead } from "../lib/report.js";
import { median, round, summarize } from "../lib/stats.js";

/** Sleeps `event.sleep` ms, then echoes: keeps 50 instances busy at once while they scale. */
const NODE_SLEEP =
  "exports.handler = async (event) => { await new Promise((r) => setTimeout(r, event.sleep || 0)); return event; };\n";

const SCALE_TO = 50;
const SCALE_SLEEP_MS = 8000;

interface PrewarmHealth {
  ready: number;
  taken: number;
  misses: number;
}

async function invokerHealth(api: FnApi): Promise<{ instances: number; prewarm?: PrewarmHealth }> {
  const h = await api.health();
  return h["invoker"] as { instances: number; prewarm?: PrewarmHealth };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The elastic invoker (issue 4) on a second server with the prewarmed pool on: cold starts
 * served from the pool, time to scale from 0 to 50 instances, and memory per idle instance.
 * The main server runs with the pool off, so `cold start … · fngraph` rows are without it.
 */
export async function scalingSection(ctx: BenchContext): Promise<void> {
  if (!ctx.startServer) throw new Error("the scaling section needs ctx.startServer");
  ctx.log("scaling: second server with FNGRAPH_PREWARM=nodejs:<memory>=2");
  const server = await ctx.startServer({
    FNGRAPH_PREWARM: `nodejs:${ctx.memoryMb}=2`,
    FNGRAPH_PREWARM_MAX: "4",
  });
  const api = await createFnApi(server.credentials);
  try {
    await poolColdStarts(ctx, api);
    await scaleOut(ctx, api, server.pid);
  } finally {
    await api.close().catch(() => undefined);
    await server.stop();
  }
}

async function poolColdStarts(ctx: BenchContext, api: FnApi): Promise<void> {
  const n = ctx.plan.cold.starts;
  const spec: FunctionSpec = {
    name: "bench-cold-pool",
    memoryMb: ctx.memoryMb,
    runtime: NODE_RUNTIME,
    file: "index.js",
    source: NODE_NOOP,
  };
  const urn = await createFunction(api, spec);
  ctx.log(`scaling: cold start Node.js from the prewarmed pool (${n} + 1)`);
  const samples: { clientMs: number; timings: Record<string, number>; cold: boolean }[] = [];
  for (let i = 0; i <= n; i++) {
    // Measure pool hits: give the pool time to refill after the previous start.
    for (let w = 0; w < 60 && ((await invokerHealth(api)).prewarm?.ready ?? 0) < 1; w++)
      await sleep(50);
    if (i > 0) {
      await api.updateConfig(urn, {
        func_name: spec.name,
        runtime: spec.runtime,
        handler: "index.handler",
        memory_size: spec.memoryMb,
        timeout: 30,
        description: `bench pool cold start ${i}`,
      });
    }
    const r = await api.invoke(urn, EVENT);
    expectEcho(r.status, r.body);
    if (i > 0)
      samples.push({
        clientMs: r.ms,
        timings: r.summary?.timings ?? {},
        cold: r.summary?.coldStart === true,
      });
  }
  await api.deleteFunction(urn);
  const cold = samples.filter((s) => s.cold);
  const hits = cold.filter((s) => s.timings["prewarmed"] === 1).length;
  const client = summarize(cold.map((s) => s.clientMs));
  const keys = ["placement", "load", "handler"];
  const parts = keys.map((k) => `${k} ${fmtMs(median(cold.map((s) => s.timings[k] ?? 0)))}`);
  ctx.addRow({
    section: "cold",
    scenario: "cold start Node.js · fngraph prewarmed pool",
    system: "fngraph",
    p50Ms: client.p50,
    tailMs: client.p95,
    tailLabel: "p95",
    notes: `${hits}/${cold.length} from the pool; server p50s: ${parts.join(" / ")}`,
    detail: { client, hits, samples },
  });
}

async function scaleOut(ctx: BenchContext, api: FnApi, serverPid: number): Promise<void> {
  const spec: FunctionSpec = {
    name: "bench-scale",
    memoryMb: ctx.memoryMb,
    runtime: NODE_RUNTIME,
    file: "index.js",
    source: NODE_SLEEP,
    strategy: { concurrency: -1, concurrent_num: 1 },
  };
  const urn = await createFunction(api, spec);
  const before = await invokerHealth(api);
  const pidsBefore = descendants(serverPid);
  const pssBefore = pssMb(pidsBefore);
  ctx.log(
    `scaling: 0 → ${SCALE_TO} instances (${SCALE_TO} calls at once, each ${SCALE_SLEEP_MS} ms)`,
  );
  const pool = new Pool(api.credentials.endpoint, { connections: SCALE_TO });
  const t0 = performance.now();
  let reachedMs: number | undefined;
  let peak = 0;
  const calls = Array.from({ length: SCALE_TO }, async () => {
    const res = await pool.request({
      method: "POST",
      path: api.invokePath(urn),
      headers: { "content-type": "application/json", "x-auth-token": api.token },
      body: JSON.stringify({ sleep: SCALE_SLEEP_MS }),
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
    });
    const body = await res.body.text();
    return { status: res.statusCode, ms: performance.now() - t0, body };
  });
  const watching = (async () => {
    while (reachedMs === undefined && performance.now() - t0 < 60_000) {
      const h = await invokerHealth(api);
      const added = h.instances - before.instances;
      peak = Math.max(peak, added);
      if (added >= SCALE_TO) reachedMs = performance.now() - t0;
      else await sleep(25);
    }
  })();
  const results = await Promise.all(calls);
  await watching;
  await pool.close();
  const ok = results.filter((r) => r.status === 200).length;
  const done = summarize(results.map((r) => r.ms));
  ctx.addRow({
    section: "cold",
    scenario: `scale 0 → ${SCALE_TO} instances · fngraph`,
    system: "fngraph",
    p50Ms: reachedMs ?? Number.NaN,
    tailMs: done.max - SCALE_SLEEP_MS,
    tailLabel: "p95",
    notes:
      `time until ${SCALE_TO} instances run (pool of 2, up to 4 by demand); ` +
      `"tail" = last call's wait for its instance; ${ok}/${SCALE_TO} ok; peak ${peak} instances`,
    detail: { reachedMs, peak, ok, callsMs: done },
  });

  // The 50 instances are idle now (keep-alive 600 s): their memory, shared pages split.
  await sleep(1000);
  const after = await invokerHealth(api);
  const pids = descendants(serverPid);
  const added = after.instances - before.instances;
  const perInstance = (pssMb(pids) - pssBefore) / Math.max(1, added);
  ctx.addRow({
    section: "cold",
    scenario: "memory per idle instance · fngraph",
    system: "fngraph",
    p50Ms: Number.NaN,
    tailMs: Number.NaN,
    tailLabel: "p95",
    notes: `${round(perInstance, 1)} MB PSS per idle Node.js instance (${added} instances, ${pids.length - pidsBefore.length} processes added; sandbox + runtime)`,
    detail: { perInstanceMb: round(perInstance, 2), instances: added },
  });
  await api.deleteFunction(urn);
  void latencyOverhead;
}
