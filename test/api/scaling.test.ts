import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createBody,
  deployFunction,
  fixtureFiles,
  startTestPlatform,
  type TestPlatform,
} from "../helpers/platform.js";
import { instancePids, waitFor } from "../hostile/helpers.js";

/** Scaling through the real platform: quotas, limits, reserved instances (issue 4). */
let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform({ concurrencyQuota: 4, queueTimeoutSeconds: 2, maxQueue: 2 });
  for (const [name, extra] of [
    ["sc-slow", { timeout: 10 }],
    ["sc-one", { timeout: 10, strategy_config: { concurrency: 1, concurrent_num: 1 } }],
    ["sc-res", { timeout: 10 }],
  ] as const) {
    await deployFunction(t, name, "Node.js20.15", fixtureFiles("node-slow"), extra);
  }
});
afterAll(async () => {
  await t.close();
});

const invoke = (name: string, event: unknown) =>
  t.api("POST", t.v2(`/fgs/functions/${name}/invocations`), event);

const health = async (): Promise<Record<string, number>> => {
  const r = await t.api("GET", "/healthz");
  return (r.json as { invoker: Record<string, number> }).invoker;
};

const quotas = async (): Promise<Record<string, { quota: number; used: number }>> => {
  const r = await t.api("GET", t.v2("/fgs/quotas"));
  expect(r.status).toBe(200);
  const out: Record<string, { quota: number; used: number }> = {};
  for (const x of (
    r.json as { quotas: { resources: { type: string; quota: number; used: number }[] } }
  ).quotas.resources)
    out[x.type] = x;
  return out;
};

describe("GET /fgs/quotas", () => {
  it("lists the contract's types with live used figures", async () => {
    const q = await quotas();
    expect(Object.keys(q).sort()).toEqual(
      [
        "fgs_func_code_size",
        "fgs_func_num",
        "fgs_func_occurs",
        "fgs_func_pat_idle_time",
        "fgs_func_qos_limit",
        "fgs_func_scale_down_timeout",
        "fgs_on_demand_instance_limit",
        "fgs_workflow_num",
      ].sort(),
    );
    expect(q["fgs_func_num"]).toEqual({ quota: 400, used: 3, type: "fgs_func_num" });
    expect(q["fgs_func_occurs"]!.quota).toBe(4);
    expect(q["fgs_func_code_size"]).toMatchObject({ quota: 10240, unit: "MB" });
    // A call in flight shows up in fgs_func_occurs while it runs.
    const slow = invoke("sc-slow", { ms: 800 });
    expect(await waitFor(() => false, 150)).toBe(false);
    const during = await quotas();
    expect((await slow).status).toBe(200);
    expect(during["fgs_func_occurs"]!.used).toBe(1);
    const after = await quotas();
    expect(after["fgs_func_occurs"]!.used).toBe(0);
    // The instance stays warm for the keep-alive.
    expect(after["fgs_on_demand_instance_limit"]!.used).toBe(1);
  });
});

describe("limits over HTTP", () => {
  it("answers 429 FSS.0429 beyond the project quota, and only then", async () => {
    const calls = Array.from({ length: 6 }, () => invoke("sc-slow", { ms: 600 }));
    const rs = await Promise.all(calls);
    const statuses = rs.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const refused = rs.find((r) => r.status === 429)!;
    expect((refused.json as { error_code: string }).error_code).toBe("FSS.0429");
    expect(typeof (refused.json as { error_msg: string }).error_msg).toBe("string");
  });

  it("queues within max instances, bounds the queue, and ends a wait at its time bound", async () => {
    // max 1 instance, queue of 2, 2 s bound: 1 runs, 2 wait (and time out), 1 is refused.
    const rs = await Promise.all(Array.from({ length: 4 }, () => invoke("sc-one", { ms: 2500 })));
    const statuses = rs.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 429, 429, 429]);
    expect(await health()).toMatchObject({ queued: 0 });
  });

  it("disables a function with config-max-instance 0, and enables it again", async () => {
    const off = await t.api("PUT", t.v2("/fgs/functions/sc-one/config-max-instance"), {
      max_instance_num: 0,
    });
    expect(off.status).toBe(200);
    const r = await invoke("sc-one", { ms: 1 });
    expect(r.status).toBe(429);
    expect(r.json).toEqual({ error_code: "FSS.0429", error_msg: "Function Disabled" });
    await t.api("PUT", t.v2("/fgs/functions/sc-one/config-max-instance"), { max_instance_num: 2 });
    const rs = await Promise.all(Array.from({ length: 2 }, () => invoke("sc-one", { ms: 300 })));
    expect(rs.map((x) => x.status)).toEqual([200, 200]);
  });
});

describe("reserved instances", () => {
  it("keeps the reserved count running, lists it, and replaces a killed instance", async () => {
    const put = await t.api("PUT", t.v2("/fgs/functions/sc-res/reservedinstances"), {
      count: 1,
      idle_mode: false,
    });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({
      count: 1,
      idle_mode: false,
      tactics_config: { cron_configs: [], metric_configs: [] },
    });
    expect(await waitFor(() => instancePids(t.dataDir, "sc-res").length > 0, 10_000)).toBe(true);
    const list = await t.api("GET", t.v2("/fgs/functions/reservedinstances"));
    const listed = list.json as { reservedinstances: { func_urn: string; count: number }[] };
    expect(listed).toMatchObject({ reservedinstances: [{ count: 1 }], count: 1 });
    expect(listed.reservedinstances[0]!.func_urn).toMatch(/:sc-res:latest$/);
    const configs = await t.api("GET", t.v2("/fgs/functions/reservedinstanceconfigs"));
    expect(configs.json).toMatchObject({
      reserved_instances: [{ qualifier_type: "version", qualifier_name: "latest", min_count: 1 }],
    });
    // The first call finds the instance warm.
    const r = await invoke("sc-res", { ms: 1 });
    expect(JSON.parse(r.headers["x-cff-invoke-summary"]!)).toMatchObject({ coldStart: false });

    if (t.platform.isolation.tier !== "A") return; // pids by cgroup need tier A
    const before = instancePids(t.dataDir, "sc-res");
    for (const pid of before) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile (the sandbox's outer processes exit with the runtime)
      }
    }
    expect(
      await waitFor(() => {
        const now = instancePids(t.dataDir, "sc-res");
        return now.length > 0 && now.every((p) => !before.includes(p));
      }, 10_000),
    ).toBe(true);
    const again = await invoke("sc-res", { ms: 1 });
    expect(again.status).toBe(200);

    // Above 90 % of the concurrency quota (4 → 3): refused.
    const tooMany = await t.api("PUT", t.v2("/fgs/functions/sc-slow/reservedinstances"), {
      count: 3,
    });
    expect(tooMany.status).toBe(400);
    // count 0 releases them.
    await t.api("PUT", t.v2("/fgs/functions/sc-res/reservedinstances"), { count: 0 });
    const after = await t.api("GET", t.v2("/fgs/functions/reservedinstances"));
    expect(after.json).toMatchObject({ count: 0 });
  });
});

describe("prewarmed pool", () => {
  it("serves Python functions from prewarmed runtimes too", async () => {
    const p = await startTestPlatform({ prewarm: "python:128=1" });
    try {
      const ready = async () =>
        ((await p.api("GET", "/healthz")).json as { invoker: { prewarm: { ready: number } } })
          .invoker.prewarm.ready;
      const deadline = Date.now() + 15_000;
      while ((await ready()) < 1 && Date.now() < deadline) await waitFor(() => false, 100);
      expect(await ready()).toBe(1);
      const body = await createBody("pw-py", "Python3.10", {
        "index.py":
          "def handler(event, context):\n    return {'me': 'pw-py', 'n': event.get('n')}\n",
      });
      expect((await p.api("POST", p.v2("/fgs/functions"), body)).status).toBe(200);
      const r = await p.api("POST", p.v2("/fgs/functions/pw-py/invocations"), { n: 7 });
      expect(r.json).toEqual({ me: "pw-py", n: 7 });
      const summary = JSON.parse(r.headers["x-cff-invoke-summary"]!) as {
        coldStart: boolean;
        timings: Record<string, number>;
      };
      expect(summary.coldStart).toBe(true);
      expect(summary.timings["prewarmed"]).toBe(1);
    } finally {
      await p.close();
    }
  });

  it("specialises prewarmed runtimes, one function per slot", async () => {
    const p = await startTestPlatform({ prewarm: "nodejs:128=2" });
    try {
      const h = async () =>
        ((await p.api("GET", "/healthz")).json as { invoker: { prewarm: { ready: number } } })
          .invoker.prewarm;
      const deadline = Date.now() + 15_000;
      while ((await h()).ready < 2 && Date.now() < deadline) await waitFor(() => false, 100);
      expect((await h()).ready).toBe(2);
      for (const name of ["pw-a", "pw-b"]) {
        const body = await createBody(name, "Node.js20.15", {
          "index.js": `exports.handler = async () => ({ me: "${name}" });`,
        });
        expect((await p.api("POST", p.v2("/fgs/functions"), body)).status).toBe(200);
      }
      for (const name of ["pw-a", "pw-b", "pw-a", "pw-b"]) {
        const r = await p.api("POST", p.v2(`/fgs/functions/${name}/invocations`), {});
        expect(r.json).toEqual({ me: name });
      }
      const first = await p.api("POST", p.v2(`/fgs/functions/pw-a/invocations`), {});
      expect(JSON.parse(first.headers["x-cff-invoke-summary"]!)).toMatchObject({
        coldStart: false,
      });
      // Each slot dir holds the code of exactly one function; new slots come up empty.
      const dir = path.join(p.dataDir, "prewarm");
      const owners = readdirSync(dir)
        .map((slot) => {
          try {
            return readFileSync(path.join(dir, slot, "index.js"), "utf8").match(
              /me: "(\w+-\w)"/,
            )?.[1];
          } catch {
            return "empty";
          }
        })
        .sort();
      expect(owners.filter((o) => o !== "empty")).toEqual(["pw-a", "pw-b"]);
      // A config change retires pw-a's instance; its next cold start takes a new slot.
      await p.api("PUT", p.v2("/fgs/functions/pw-a/config"), {
        handler: "index.handler",
        memory_size: 128,
        timeout: 5,
        runtime: "Node.js20.15",
        description: "changed",
      });
      const cold = await p.api("POST", p.v2(`/fgs/functions/pw-a/invocations`), {});
      const summary = JSON.parse(cold.headers["x-cff-invoke-summary"]!) as {
        coldStart: boolean;
        timings: Record<string, number>;
      };
      expect(summary.coldStart).toBe(true);
      expect(summary.timings).toHaveProperty("placement");
      expect(summary.timings).toHaveProperty("prewarmed");
    } finally {
      await p.close();
    }
  });
});
