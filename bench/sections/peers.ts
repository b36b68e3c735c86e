import type { BenchContext } from "../lib/context.js";
import { expectEcho } from "../lib/functions.js";
import { EVENT, NODE_BUSY_10MS, NODE_NOOP } from "../lib/handlers.js";
import { load, sequential, type Target } from "../lib/measure.js";
import { descendants, pssMb } from "../lib/memory.js";
import { startOffline, type Offline } from "../lib/peers.js";
import { COLD_PAUSE_MS, startOfflineCold } from "../lib/offline-cold.js";
import { measured } from "../lib/report.js";
import { round } from "../lib/stats.js";

const offlineTarget = (o: Offline, fn: string): Target => ({
  origin: o.origin,
  path: o.invokePath(fn),
  headers: {},
  body: EVENT,
  expect: expectEcho,
});

/**
 * serverless-offline (v13 with Serverless Framework v3, installed into bench/.peers) running the
 * same handlers, through its Lambda Invoke endpoint: warm latency, throughput, cold start and the
 * memory a warm function adds. It has no instance scaling to time.
 */
export async function peersSection(ctx: BenchContext): Promise<void> {
  if (!ctx.repoRoot) throw new Error("the peers section needs ctx.repoRoot");
  const handlers = { noop: NODE_NOOP, busy: NODE_BUSY_10MS };
  ctx.log("peers: starting serverless offline");
  const o = await startOffline({
    repoRoot: ctx.repoRoot,
    handlers,
    memoryMb: ctx.memoryMb,
    log: ctx.log,
  });
  try {
    const idle = pssMb([o.pid, ...descendants(o.pid)]);
    for (const h of ["noop", "busy"] as const) {
      const plan = ctx.plan.latency[h];
      ctx.log(`peers: ${h} c=1 · serverless-offline`);
      const r = await sequential(offlineTarget(o, h), plan);
      ctx.addRow({
        section: "latency",
        scenario: `${h === "noop" ? "noop" : "busy 10 ms"}, c=1 · serverless-offline`,
        system: "serverless-offline",
        ...measured(r),
        notes: r.errors ? `${r.errors} non-200` : "Lambda Invoke API, worker threads",
        detail: r,
      });
      if (h === "noop") {
        const warm = pssMb([o.pid, ...descendants(o.pid)]);
        ctx.addRow({
          section: "cold",
          scenario: "memory per idle instance · serverless-offline",
          system: "serverless-offline",
          p50Ms: Number.NaN,
          tailMs: Number.NaN,
          tailLabel: "p95",
          notes: `${round(warm - idle, 1)} MB PSS added by one warm function (${round(idle, 1)} MB before the first call; no isolation)`,
          detail: { idleMb: round(idle, 2), warmMb: round(warm, 2) },
        });
      }
    }
    const plan = ctx.plan.throughput;
    for (const h of ["noop", "busy"] as const) {
      ctx.log(`peers: ${h} c=${plan.connections} · serverless-offline`);
      const r = await load(offlineTarget(o, h), plan);
      ctx.addRow({
        section: "throughput",
        scenario: `${h === "noop" ? "noop" : "busy 10 ms"}, c=${plan.connections} · serverless-offline`,
        system: "serverless-offline",
        ...measured(r),
        notes: [r.non2xx ? `${r.non2xx} non-2xx` : "", r.errors ? `${r.errors} errors` : ""]
          .filter(Boolean)
          .join("; "),
        detail: r,
      });
    }
  } finally {
    await o.stop();
  }

  // Cold start (--reloadHandler): the cold section measures it, between fngraph's own, when it
  // runs too; alone here otherwise, each call after the same pause as fngraph's cold starts.
  if (ctx.coldWithPeers) return;
  const n = ctx.plan.cold.starts;
  ctx.log(
    `peers: cold start (--reloadHandler) · serverless-offline (${n} + 1, then ${n} back to back)`,
  );
  const cold = await startOfflineCold({
    repoRoot: ctx.repoRoot,
    memoryMb: ctx.memoryMb,
    log: ctx.log,
  });
  try {
    await cold.call();
    const paced: number[] = [];
    for (let i = 0; i < n; i++) {
      await new Promise((r) => setTimeout(r, COLD_PAUSE_MS));
      paced.push(await cold.call());
    }
    ctx.addRow(await cold.row(paced, `${COLD_PAUSE_MS} ms pause before each call`));
  } finally {
    await cold.stop();
  }
}
