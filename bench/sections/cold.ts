import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BenchContext } from "../lib/context.js";
import {
  NODE_RUNTIME,
  PYTHON_RUNTIME,
  createFunction,
  expectEcho,
  type FunctionSpec,
} from "../lib/functions.js";
import { EVENT, NODE_NOOP, PYTHON_NOOP } from "../lib/handlers.js";
import { COLD_PAUSE_MS, startOfflineCold, type OfflineCold } from "../lib/offline-cold.js";
import { latencyOverhead, fmtMs } from "../lib/report.js";
import { median, round, summarize } from "../lib/stats.js";

/** The interpreters the server uses by default (config nodePath / pythonPath). */
const PYTHON = "/usr/bin/python3";

const LANGS = [
  {
    key: "nodejs",
    label: "Node.js",
    spec: { runtime: NODE_RUNTIME, file: "index.js", source: NODE_NOOP },
    // A bare interpreter start that loads the same file and calls the handler once.
    floor: (dir: string): [string, string[]] => [
      process.execPath,
      [
        "-e",
        "const h=require(process.argv[1]).handler;" +
          "Promise.resolve(h(JSON.parse(process.argv[2]),{})).then(r=>process.stdout.write(JSON.stringify(r)))",
        path.join(dir, "index.js"),
        EVENT,
      ],
    ],
  },
  {
    key: "python",
    label: "Python",
    spec: { runtime: PYTHON_RUNTIME, file: "index.py", source: PYTHON_NOOP },
    floor: (dir: string): [string, string[]] => [
      PYTHON,
      [
        "-c",
        "import sys,json; sys.path.insert(0, sys.argv[1]); import index; " +
          "sys.stdout.write(json.dumps(index.handler(json.loads(sys.argv[2]), None), separators=(',',':'))); sys.stdout.flush()",
        dir,
        EVENT,
      ],
    ],
  },
] as const;

/** Time from spawn to the first byte of output of a process that prints the handler's result. */
function spawnToFirstOutput(command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let at: number | undefined;
    let out = "";
    // The same minimal environment a function instance gets, not the bench's own.
    const env = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: os.tmpdir(), LANG: "C.UTF-8" };
    const p = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env });
    p.stdout.setEncoding("utf8").on("data", (s: string) => {
      at ??= performance.now();
      out += s;
    });
    p.stderr.resume();
    p.once("error", reject);
    p.once("close", (code) => {
      if (at === undefined || code !== 0) {
        reject(new Error(`${command} exited ${String(code)} with ${JSON.stringify(out)}`));
        return;
      }
      try {
        expectEcho(200, out);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      resolve(at - t0);
    });
  });
}

interface ColdSample {
  clientMs: number;
  coldStart: boolean | undefined;
  timings: Record<string, number>;
}

/**
 * Cold start to first result. Each start: PUT …/config with a new description (a new revision:
 * the server retires the old instances), then one timed invoke. One extra start first, discarded,
 * so the code is already unpacked and the interpreter files are in the page cache.
 */
export async function coldSection(ctx: BenchContext): Promise<void> {
  const n = ctx.plan.cold.starts;
  for (const lang of LANGS) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "fngraph-bench-cold-"));
    let floorMs: number[];
    const [cmd, args] = lang.floor(dir);
    try {
      writeFileSync(path.join(dir, lang.spec.file), lang.spec.source);
      ctx.log(`cold: ${lang.label} · floor (${n} + 1 process starts)`);
      await spawnToFirstOutput(cmd, args);
      floorMs = [];
      for (let i = 0; i < n; i++) floorMs.push(await spawnToFirstOutput(cmd, args));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const floor = summarize(floorMs);
    ctx.addRow({
      section: "cold",
      scenario: `cold start ${lang.label} · floor`,
      system: "floor",
      p50Ms: floor.p50,
      tailMs: floor.p95,
      tailLabel: "p95",
      notes: `bare \`${path.basename(cmd)}\` spawn → handler result on stdout`,
      detail: { samplesMs: floorMs.map((x) => round(x)), summary: floor, command: cmd },
    });

    const spec: FunctionSpec = {
      name: `bench-cold-${lang.key}`,
      memoryMb: ctx.memoryMb,
      ...lang.spec,
    };
    const urn = await createFunction(ctx.api, spec);
    // serverless-offline's cold start, call by call between these (offline-cold.ts).
    const offline: OfflineCold | undefined =
      lang.key === "nodejs" && ctx.coldWithPeers && ctx.repoRoot
        ? await startOfflineCold({ repoRoot: ctx.repoRoot, memoryMb: ctx.memoryMb, log: ctx.log })
        : undefined;
    ctx.log(
      `cold: ${lang.label} · fngraph (${n} + 1 config updates and invokes)` +
        (offline ? ", each followed by a serverless-offline cold start" : ""),
    );
    const samples: ColdSample[] = [];
    const offlineMs: number[] = [];
    try {
      for (let i = 0; i <= n; i++) {
        if (i > 0) {
          await ctx.api.updateConfig(urn, {
            func_name: spec.name,
            runtime: spec.runtime,
            handler: "index.handler",
            memory_size: spec.memoryMb,
            timeout: 30,
            description: `bench cold start ${i}`,
          });
          // The update retired the previous start's instance; its teardown is not this start's.
          await new Promise((r) => setTimeout(r, COLD_PAUSE_MS));
        }
        const r = await ctx.api.invoke(urn, EVENT);
        expectEcho(r.status, r.body);
        if (i > 0) {
          samples.push({
            clientMs: r.ms,
            coldStart: r.summary?.coldStart,
            timings: r.summary?.timings ?? {},
          });
        }
        if (offline) {
          await new Promise((r) => setTimeout(r, COLD_PAUSE_MS));
          const ms = await offline.call();
          if (i > 0) offlineMs.push(ms);
        }
      }
      if (offline) {
        ctx.addRow(
          await offline.row(
            offlineMs,
            `each call after a ${COLD_PAUSE_MS} ms pause, alternating with fngraph's cold starts`,
          ),
        );
      }
    } finally {
      await offline?.stop();
    }
    await ctx.api.deleteFunction(urn);
    const cold = samples.filter((s) => s.coldStart === true);
    const client = summarize(cold.map((s) => s.clientMs));
    // On a cold call `queue` is the wait for the lease, which contains the instance start
    // (sandbox + boot + load); count whichever is larger so nothing is counted twice.
    const startMs = (t: Record<string, number>): number =>
      Math.max(t["queue"] ?? 0, (t["sandbox"] ?? 0) + (t["boot"] ?? 0) + (t["load"] ?? 0));
    const keys = [...new Set(cold.flatMap((s) => Object.keys(s.timings)))];
    const anatomy: Record<string, number> = {};
    for (const k of keys) anatomy[k] = round(median(cold.map((s) => s.timings[k] ?? 0)));
    const rest = median(
      cold.map((s) => s.clientMs - startMs(s.timings) - (s.timings["handler"] ?? 0)),
    );
    const parts = keys.map((k) => `${k} ${fmtMs(anatomy[k] ?? Number.NaN)}`);
    const notWarm = samples.length - cold.length;
    ctx.addRow({
      section: "cold",
      scenario: `cold start ${lang.label} · fngraph`,
      system: "fngraph",
      p50Ms: client.p50,
      tailMs: client.p95,
      tailLabel: "p95",
      vsFloor: latencyOverhead(client.p50, floor.p50),
      notes:
        `server p50s: ${parts.join(" / ")}; rest (HTTP, auth, routing) ${fmtMs(rest)}; ` +
        `${COLD_PAUSE_MS} ms pause after each config update` +
        (notWarm ? `; ${notWarm} of ${samples.length} calls NOT reported cold, excluded` : ""),
      detail: {
        funcUrn: urn,
        client,
        serverMedians: anatomy,
        restMedianMs: round(rest),
        samples: samples.map((s) => ({ ...s, clientMs: round(s.clientMs) })),
      },
    });
  }
}
