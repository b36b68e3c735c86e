import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import {
  type ApiResponse,
  deployFunction,
  fixtureFiles,
  NODE_ECHO,
  type TestPlatform,
} from "../helpers/platform.js";

/** What X-Cff-Invoke-Summary carries. */
export interface Summary {
  duration: number;
  billingDuration: number;
  memorySize: number;
  memoryUsed: number;
  coldStart: boolean;
  timings: { queue: number; sandbox: number; boot: number; load: number; handler: number };
}

export function summaryOf(r: ApiResponse): Summary {
  return JSON.parse(r.headers["x-cff-invoke-summary"] ?? "{}") as Summary;
}

/** The isolation tier the platform reports in /healthz. */
export async function tierOf(t: TestPlatform): Promise<string> {
  const r = await t.api("GET", "/healthz");
  return (r.json as { isolation?: { tier?: string } }).isolation?.tier ?? "?";
}

/** Create a function running `index.<handler>` of the hostile-node fixture. */
export async function deployHostile(
  t: TestPlatform,
  name: string,
  handler: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await deployFunction(t, name, "Node.js20.15", fixtureFiles("hostile-node"), {
    handler: `index.${handler}`,
    ...extra,
  });
}

export async function deployEcho(t: TestPlatform, name: string): Promise<void> {
  await deployFunction(t, name, "Node.js20.15", NODE_ECHO, {
    strategy_config: { concurrency: -1, concurrent_num: 4 },
  });
}

/** Sync invocation with the v1 envelope (its `status` is the function error code or 200). */
export async function invoke(
  t: TestPlatform,
  name: string,
  event: unknown,
): Promise<{ r: ApiResponse; status: number; result: unknown; summary: Summary; log: string }> {
  const r = await t.api("POST", t.v2(`/fgs/functions/${name}/invocations`), event, {
    "X-CFF-Request-Version": "v1",
    "X-Cff-Log-Type": "tail",
  });
  expect(r.status).toBe(200);
  const body = r.json as { status: number; result: string; log: string };
  let result: unknown = body.result;
  try {
    result = JSON.parse(body.result);
  } catch {
    // plain text result
  }
  return { r, status: body.status, result, summary: summaryOf(r), log: body.log };
}

/**
 * Invoke an echo function in a loop (2 at a time) until stopped; every call must return its own
 * event. Returns how many calls were made and the failures.
 */
export function startEchoLoop(
  t: TestPlatform,
  name: string,
): { stop(): Promise<{ calls: number; failures: string[] }> } {
  let running = true;
  let calls = 0;
  const failures: string[] = [];
  const worker = async (w: number): Promise<void> => {
    while (running) {
      const n = ++calls;
      try {
        const r = await t.api("POST", t.v2(`/fgs/functions/${name}/invocations`), { w, n });
        const ok =
          r.status === 200 &&
          r.headers["x-func-err-code"] === "0" &&
          JSON.stringify((r.json as { event?: unknown }).event) === JSON.stringify({ w, n });
        if (!ok)
          failures.push(`${r.status} ${r.headers["x-func-err-code"]} ${r.text.slice(0, 200)}`);
      } catch (err) {
        failures.push(String(err));
      }
    }
  };
  const workers = [worker(1), worker(2)];
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return { calls, failures };
    },
  };
}

/** cgroup name prefix the platform uses for its instances (see src/sandbox/index.ts). */
export function cgroupPrefix(dataDir: string): string {
  return createHash("sha256").update(path.resolve(dataDir)).digest("hex").slice(0, 8);
}

/** Instance group names are `fngraph-<prefix>-<function name (20 chars)>-…`. */
function groupStem(dataDir: string, fnName: string): string {
  return `fngraph-${cgroupPrefix(dataDir)}-${fnName.slice(0, 20)}-`;
}

/** Host pids (any state but zombie) whose cgroups say they belong to an instance of `fnName`. */
export function instancePids(dataDir: string, fnName: string): number[] {
  const stem = groupStem(dataDir, fnName);
  const out: number[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (!fs.readFileSync(`/proc/${e}/cgroup`, "utf8").includes(stem)) continue;
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z") out.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** cgroup directories (any hierarchy) of instances of `fnName`. */
export function instanceGroups(dataDir: string, fnName: string): string[] {
  const stem = groupStem(dataDir, fnName);
  return allPlatformGroups(dataDir).filter((d) => path.basename(d).startsWith(stem));
}

/** Every `fngraph-<prefix>-*` cgroup directory of the platform using `dataDir`. */
export function allPlatformGroups(dataDir: string): string[] {
  const stem = `fngraph-${cgroupPrefix(dataDir)}-`;
  const out: string[] = [];
  for (const root of ["memory", "cpu", "pids", "freezer", "unified", ""]) {
    const dir = path.join("/sys/fs/cgroup", root);
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) if (n.startsWith(stem)) out.push(path.join(dir, n));
  }
  return out;
}

/** Mount points below `dir` in the host mount table. */
export function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1] ?? "")
    .filter((m) => m.startsWith(dir + "/"));
}

export { waitFor } from "../helpers/procs.js";
