import type { FnApi } from "../lib/api.js";
import type { BenchContext } from "../lib/context.js";
import {
  NODE_RUNTIME,
  createFunction,
  floorTarget,
  fngraphTarget,
  proxyTarget,
  type FunctionSpec,
} from "../lib/functions.js";
import { NODE_BUSY_10MS, NODE_NOOP } from "../lib/handlers.js";
import { load, sequential, warmupLoad, type LoadResult, type Target } from "../lib/measure.js";
import { latencyOverhead, measured, throughputShare } from "../lib/report.js";
import { cpuMillicoresFor } from "../../src/sandbox/cgroups.js";

const HANDLERS = [
  { key: "noop", label: "noop", source: NODE_NOOP },
  { key: "busy", label: "busy 10 ms", source: NODE_BUSY_10MS },
] as const;

/**
 * Tiers A/B cap each instance's CPU by memory_size (bench/README.md); the busy rows feel it. The
 * busy c=1 row runs a second time at the memory size that gets a whole CPU (the peers and the
 * floor have no cap), so the platform's own cost is seen apart from the quota's.
 */
const FULL_CPU_MB = 1024;

function quotaNote(memoryMb: number): string {
  return `CPU quota ${(cpuMillicoresFor(memoryMb) / 1000).toFixed(1)} CPU (${memoryMb} MB)`;
}

function nodeSpec(
  ctx: BenchContext,
  name: string,
  source: string,
  strategy?: FunctionSpec["strategy"],
): FunctionSpec {
  return {
    name,
    memoryMb: ctx.memoryMb,
    runtime: NODE_RUNTIME,
    file: "index.js",
    source,
    ...(strategy ? { strategy } : {}),
  };
}

function needFloor(ctx: BenchContext): string {
  if (!ctx.floor) throw new Error("the floor server is not running");
  return ctx.floor.origin;
}

/** Warm sync-invoke latency at concurrency 1, fngraph next to the floor. */
export async function latencySection(ctx: BenchContext): Promise<void> {
  for (const h of HANDLERS) {
    const plan = ctx.plan.latency[h.key];
    ctx.log(`latency: ${h.label} · floor (${plan.warmup} + ${plan.requests} requests)`);
    const floor = await sequential(floorTarget(needFloor(ctx), h.key), plan);
    ctx.addRow({
      section: "latency",
      scenario: `${h.label}, c=1 · floor`,
      system: "floor",
      ...measured(floor),
      detail: floor,
    });
    const capped = h.key === "busy" && ctx.tier !== "C";
    const memories = [ctx.memoryMb, ...(capped && ctx.memoryMb < FULL_CPU_MB ? [FULL_CPU_MB] : [])];
    for (const memoryMb of memories) {
      const spec = { ...nodeSpec(ctx, `bench-lat-${h.key}-${memoryMb}`, h.source), memoryMb };
      const urn = await createFunction(ctx.api, spec);
      const label = memoryMb === ctx.memoryMb ? "fngraph" : `fngraph ${memoryMb} MB`;
      ctx.log(`latency: ${h.label} · ${label} (${plan.warmup} + ${plan.requests} requests)`);
      const fn = await sequential(fngraphTarget(ctx.api, urn), plan);
      ctx.addRow({
        section: "latency",
        scenario: `${h.label}, c=1 · ${label}`,
        system: "fngraph",
        ...measured(fn),
        vsFloor: latencyOverhead(fn.latency.p50, floor.latency.p50),
        notes: [
          `p99 ${latencyOverhead(fn.latency.p99, floor.latency.p99)}`,
          ...(capped ? [quotaNote(memoryMb)] : []),
          ...(fn.errors ? [`${fn.errors} non-200`] : []),
        ].join("; "),
        detail: { ...fn, funcUrn: urn, memoryMb },
      });
      await ctx.api.deleteFunction(urn);
    }
  }
}

async function instanceCount(api: FnApi): Promise<number | undefined> {
  const h = await api.health();
  const inv = h["invoker"] as { instances?: unknown } | undefined;
  return typeof inv?.instances === "number" ? inv.instances : undefined;
}

/**
 * Delete a function and wait (up to 15 s) until its instances are gone: the next scenario's
 * instance count must not include them, nor its figures the CPU of stopping 30 runtimes.
 */
async function deleteAndSettle(api: FnApi, urn: string, baseline: number): Promise<void> {
  await api.deleteFunction(urn);
  const end = Date.now() + 15_000;
  while (Date.now() < end && ((await instanceCount(api)) ?? 0) > baseline) {
    await new Promise((r) => setTimeout(r, 100));
  }
}

function loadNotes(r: LoadResult): string[] {
  const notes: string[] = [];
  if (r.non2xx) notes.push(`${r.non2xx} non-2xx`);
  if (r.errors) notes.push(`${r.errors} errors`);
  if (r.timeouts) notes.push(`${r.timeouts} timeouts`);
  return notes;
}

interface Paired {
  /** The run with the median share. */
  run: LoadResult;
  /** Its floor run. */
  floor: LoadResult;
  /** Each pair's share of the floor, in run order. */
  shares: number[];
  pairs: { floor: LoadResult; run: LoadResult }[];
}

/**
 * `pairs` runs of the floor and of `target` back to back. On a shared VM the floor read
 * 20,000-47,000 req/s between runs minutes apart (sessions 6-7): one floor run at the start of
 * the section and one run of the server a minute later compare two machines. The row reports the
 * pair with the median share.
 */
async function pairedWithFloor(
  ctx: BenchContext,
  target: Target,
  plan: BenchContext["plan"]["throughput"],
): Promise<Paired> {
  const floorOf = floorTarget(needFloor(ctx), "noop");
  const pairs: { floor: LoadResult; run: LoadResult }[] = [];
  for (let i = 0; i < Math.max(1, plan.pairs); i++) {
    const floor = await load(floorOf, { ...plan, warmupS: 1 });
    const run = await load(target, { ...plan, warmupS: 1 });
    pairs.push({ floor, run });
  }
  const shares = pairs.map((p) => p.run.reqPerSec / p.floor.reqPerSec);
  const midShare = [...shares].sort((a, b) => a - b)[Math.floor((shares.length - 1) / 2)];
  const mid = pairs.find((_, i) => shares[i] === midShare);
  if (!mid) throw new Error("no throughput pairs were run");
  return { run: mid.run, floor: mid.floor, shares, pairs };
}

function pairNotes(p: Paired): string {
  if (p.shares.length < 2) return `floor ${Math.round(p.floor.reqPerSec)} req/s just before`;
  const each = p.shares.map((s) => `${Math.round(s * 100)}%`).join(", ");
  return `median of ${p.shares.length} pairs with a floor run just before each (${each}; that floor ${Math.round(p.floor.reqPerSec)} req/s)`;
}

/** Throughput at concurrency 32 (autocannon), fngraph scaling out and with 32 per instance. */
export async function throughputSection(ctx: BenchContext): Promise<void> {
  const plan = ctx.plan.throughput;
  const c = plan.connections;
  const baseline = (await instanceCount(ctx.api)) ?? 0;
  for (const h of HANDLERS) {
    ctx.log(`throughput: ${h.label} · floor (c=${c}, ${plan.warmupS} s + ${plan.durationS} s)`);
    const floor = await load(floorTarget(needFloor(ctx), h.key), plan);
    ctx.addRow({
      section: "throughput",
      scenario: `${h.label}, c=${c} · floor`,
      system: "floor",
      ...measured(floor),
      notes: ["1 process", ...loadNotes(floor)].join("; "),
      detail: floor,
    });
    if (h.key === "noop") {
      // The ceiling of any design with the function in another process (bench/floor-server.ts).
      ctx.log(
        `throughput: ${h.label} · proxy (c=${c}, ${plan.pairs} × floor + proxy, ${plan.durationS} s each)`,
      );
      const proxy = await pairedWithFloor(ctx, proxyTarget(needFloor(ctx), h.key), plan);
      ctx.addRow({
        section: "throughput",
        scenario: `${h.label}, c=${c} · proxy`,
        system: "proxy",
        ...measured(proxy.run),
        vsFloor: throughputShare(proxy.run.reqPerSec, proxy.floor.reqPerSec),
        notes: [
          "bare HTTP → one fd-3 frame → the Node shim in a child process (no sandbox) → back; nothing else",
          pairNotes(proxy),
          ...loadNotes(proxy.run),
        ].join("; "),
        detail: proxy,
      });
    }
    for (const perInstance of [1, 32]) {
      const scenario = `${h.label}, c=${c} · fngraph concurrent_num=${perInstance}`;
      const strategy = { concurrency: -1, concurrent_num: perInstance };
      let urn: string;
      try {
        urn = await createFunction(
          ctx.api,
          nodeSpec(ctx, `bench-tp-${h.key}-cn${perInstance}`, h.source, strategy),
        );
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        ctx.log(`throughput: ${scenario}: create rejected: ${why}`);
        ctx.addRow({
          section: "throughput",
          scenario,
          system: "fngraph",
          p50Ms: Number.NaN,
          tailMs: Number.NaN,
          tailLabel: "p99",
          notes: `create rejected: ${why.slice(0, 120)}`,
          detail: { rejected: why, strategy },
        });
        continue;
      }
      const target = fngraphTarget(ctx.api, urn);
      // Warm up in 1 s rounds until the instance count stops growing (scale-out is done), at
      // least plan.warmupS rounds and at most 4× as many.
      let rounds = 0;
      for (let last = -1; rounds < plan.warmupS * 4;) {
        await warmupLoad(target, c, 1);
        rounds++;
        const now = (await instanceCount(ctx.api)) ?? 0;
        if (rounds >= plan.warmupS && now === last) break;
        last = now;
      }
      // The noop rows' share comes from pairs of runs with the floor; the busy rows' floor (one
      // process, 10 ms of CPU per call) is steady enough for the section's one run.
      const paired = h.key === "noop";
      ctx.log(
        paired
          ? `throughput: ${scenario} (${rounds} s warm-up; ${plan.pairs} × floor + fngraph, ${plan.durationS} s each)`
          : `throughput: ${scenario} (${rounds} s warm-up + ${plan.durationS} s)`,
      );
      const p = paired ? await pairedWithFloor(ctx, target, plan) : undefined;
      const r = p ? p.run : await load(target, { ...plan, warmupS: 0 });
      const f = p ? p.floor : floor;
      const after = await instanceCount(ctx.api);
      const instances = after === undefined ? undefined : after - baseline;
      ctx.addRow({
        section: "throughput",
        scenario,
        system: "fngraph",
        ...measured(r),
        vsFloor: throughputShare(r.reqPerSec, f.reqPerSec),
        notes: [
          ...(instances === undefined
            ? []
            : [`${instances} instance${instances === 1 ? "" : "s"}`]),
          `p50 ${latencyOverhead(r.latency.p50, f.latency.p50)}`,
          ...(p ? [pairNotes(p)] : []),
          ...(h.key === "busy" && ctx.tier !== "C" ? [quotaNote(ctx.memoryMb)] : []),
          ...loadNotes(r),
        ].join("; "),
        detail: {
          ...r,
          warmupS: rounds,
          strategy,
          instances,
          funcUrn: urn,
          ...(p ? { pairs: p.pairs, shares: p.shares } : {}),
        },
      });
      await deleteAndSettle(ctx.api, urn, baseline);
    }
  }
}
