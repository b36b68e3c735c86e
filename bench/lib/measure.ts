import autocannon from "autocannon";
import type { Options as AutocannonOptions } from "autocannon";
import { Pool } from "undici";
import { percentile, round, summarize, type LatencySummary } from "./stats.js";

/** One HTTP endpoint the load is sent to, and how to tell a good answer. */
export interface Target {
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Throws if a response is not the expected one (checked on the first warm-up response). */
  expect: (status: number, body: string) => void;
}

export interface SequentialResult {
  latency: LatencySummary;
  /** Requests per second achieved by the sequential loop (1 / mean latency, in effect). */
  reqPerSec: number;
  errors: number;
  warmup: number;
}

/**
 * Concurrency 1: one keep-alive connection, `warmup` then `requests` requests back to back, each
 * timed from send to last body byte.
 */
export async function sequential(
  target: Target,
  opts: { warmup: number; requests: number },
): Promise<SequentialResult> {
  const pool = new Pool(target.origin, { connections: 1, pipelining: 1 });
  const headers = { "content-type": "application/json", ...target.headers };
  const once = async (): Promise<{ ms: number; status: number; body: string }> => {
    const t0 = performance.now();
    const res = await pool.request({
      method: "POST",
      path: target.path,
      headers,
      body: target.body,
    });
    const body = await res.body.text();
    return { ms: performance.now() - t0, status: res.statusCode, body };
  };
  try {
    for (let i = 0; i < opts.warmup; i++) {
      const r = await once();
      if (i === 0 || i === opts.warmup - 1) target.expect(r.status, r.body);
    }
    const samples: number[] = [];
    let errors = 0;
    const t0 = performance.now();
    for (let i = 0; i < opts.requests; i++) {
      const r = await once();
      if (r.status !== 200) errors++;
      samples.push(r.ms);
    }
    const elapsed = performance.now() - t0;
    return {
      latency: summarize(samples),
      reqPerSec: round((opts.requests / elapsed) * 1000, 1),
      errors,
      warmup: opts.warmup,
    };
  } finally {
    await pool.close();
  }
}

export interface LoadResult {
  connections: number;
  durationS: number;
  warmupS: number;
  reqPerSec: number;
  latency: { p50: number; p90: number; p99: number; mean: number; max: number };
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/**
 * Closed-loop load with autocannon: `connections` keep-alive connections each with one request in
 * flight. A discarded warm-up run of `warmupS` first (lets the platform scale out instances).
 */
export async function load(
  target: Target,
  opts: { connections: number; durationS: number; warmupS: number },
): Promise<LoadResult> {
  const base = loadOptions(target, opts.connections);
  if (opts.warmupS > 0) await autocannon({ ...base, duration: opts.warmupS });
  // autocannon's own histogram has 1 ms resolution, too coarse next to a sub-ms floor: keep
  // every 2xx latency from the response events instead.
  const samples: number[] = [];
  const run = autocannon({ ...base, duration: opts.durationS });
  run.on("response", (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) samples.push(ms);
  });
  const r = await run;
  const s = summarize(samples);
  return {
    connections: opts.connections,
    durationS: round(r.duration, 2),
    warmupS: opts.warmupS,
    reqPerSec: round(r["2xx"] / r.duration, 1),
    latency: {
      p50: round(s.p50),
      p90: round(percentile90(samples)),
      p99: round(s.p99),
      mean: round(s.mean),
      max: round(s.max),
    },
    ok: r["2xx"],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

function percentile90(samples: number[]): number {
  return percentile(
    [...samples].sort((a, b) => a - b),
    90,
  );
}

/** Discarded load, e.g. to let the platform scale out before a measured run. */
export async function warmupLoad(
  target: Target,
  connections: number,
  seconds: number,
): Promise<void> {
  await autocannon({ ...loadOptions(target, connections), duration: seconds });
}

/** autocannon's options for a closed-loop load on `target`. */
export function loadOptions(target: Target, connections: number): AutocannonOptions {
  return {
    url: target.origin + target.path,
    method: "POST",
    headers: { "content-type": "application/json", ...target.headers },
    body: target.body,
    connections,
    pipelining: 1,
    timeout: 30,
  };
}
