// Reserved instances: idle_mode (freeze idle reserved instances, thaw before a call) and
// tactics_config.metric_configs (more reserved instances while concurrency utilisation is high),
// on fake instances and a manual clock. The real freezer: test/hostile/idle-mode.test.ts.
import { describe, expect, it } from "vitest";
import { isFsError } from "../../src/core/errors.js";
import type { FunctionVersion } from "../../src/core/types.js";
import { createInvoker } from "../../src/invoker/invoker.js";
import type { StartInstance } from "../../src/invoker/instance-starter.js";
import { Pool, type PoolOptions } from "../../src/invoker/pool.js";
import {
  createReservedInstances,
  METRIC_INTERVAL_MS,
  metricMinimum,
} from "../../src/invoker/reserved-instances.js";
import type { InvokeTarget } from "../../src/invoker/types.js";
import type { RuntimeDef } from "../../src/runtimes/types.js";
import type { Sandbox } from "../../src/sandbox/types.js";
import type { ReservedConfig, ReservedMetric } from "../../src/store/reserved.js";
import {
  createFakeInstance,
  createGate,
  createManualClock,
  createStarter,
  FAKE_ANATOMY,
  flush,
  silent,
  type FakeInstance,
  type Starter,
} from "./helpers.js";

const KEEP_ALIVE = 60_000;

function makePool(starter: Starter, over: Partial<PoolOptions> = {}) {
  const clock = createManualClock();
  const pool = new Pool({
    key: "f/latest/1/128",
    maxInstances: -1,
    hardMaxInstances: 400,
    concurrentNum: 1,
    keepAliveMs: KEEP_ALIVE,
    maxQueue: 1000,
    queueTimeoutMs: 60_000,
    clock,
    logger: silent,
    start: () => starter.start(),
    ...over,
  });
  return { pool, clock };
}

const metric = (threshold: number, min: number): ReservedMetric => ({
  name: `m${threshold}`,
  type: "Concurrency",
  threshold,
  min,
});

const frozen = (made: FakeInstance[]) => made.filter((i) => !i.dead && i.frozen).length;

describe("idle_mode", () => {
  it("freezes reserved instances once started, thaws one for a call, freezes it after", async () => {
    const starter = createStarter();
    const { pool } = makePool(starter);
    pool.setReserved({ count: 2, idleMode: true, metrics: [] });
    await flush();
    expect(starter.made).toHaveLength(2);
    expect(starter.made.map((i) => i.frozen)).toEqual([true, true]);
    const lease = await pool.acquire();
    // A warm call: the reserved instance was thawed before the call was handed to it (the fake
    // throws on a call to a frozen instance).
    expect(lease.cold).toBe(false);
    const inst = lease.slot.instance as FakeInstance;
    expect(inst.frozen).toBe(false);
    await expect(inst.invoke("{}", {} as never, { timeoutMs: 1000 })).resolves.toMatchObject({
      ok: true,
    });
    expect(frozen(starter.made)).toBe(1);
    pool.release(lease.slot);
    expect(inst.frozen).toBe(true);
    expect(inst.thaws).toBe(1);
    expect(inst.freezes).toBe(2);
    await pool.close();
    expect(starter.made.every((i) => i.closed && !i.frozen)).toBe(true);
  });

  it("freezes nothing without idle_mode", async () => {
    const starter = createStarter();
    const { pool } = makePool(starter);
    pool.setReserved({ count: 2, idleMode: false, metrics: [] });
    await flush();
    const lease = await pool.acquire();
    pool.release(lease.slot);
    expect(starter.made.map((i) => i.freezes)).toEqual([0, 0]);
    await pool.close();
  });

  it("freezes only the reserved share of idle instances; the reaper still stops the others", async () => {
    const gate = createGate();
    const starter = createStarter("f", gate);
    const { pool, clock } = makePool(starter);
    pool.setReserved({ count: 1, idleMode: true, metrics: [] });
    await flush();
    // Two calls at once: the reserved instance and an on-demand one.
    const [a, b] = await Promise.all([
      pool.acquire(),
      (async () => {
        await flush();
        return pool.acquire();
      })(),
    ]);
    expect(pool.size).toBe(2);
    pool.release(a.slot);
    pool.release(b.slot);
    // One frozen (the most recently used), the other stays running until its keep-alive ends.
    expect(frozen(starter.made)).toBe(1);
    await clock.advance(KEEP_ALIVE);
    expect(pool.size).toBe(1);
    expect(frozen(starter.made)).toBe(1);
    // Count 0: the last one is thawed (and stopped after its keep-alive).
    pool.setReserved({ count: 0, idleMode: true, metrics: [] });
    expect(frozen(starter.made)).toBe(0);
    await clock.advance(KEEP_ALIVE);
    expect(pool.size).toBe(0);
    expect(starter.made.every((i) => i.closed)).toBe(true);
    await pool.close();
  });

  it("replaces a frozen reserved instance that died, and the new one is frozen too", async () => {
    const starter = createStarter();
    const { pool } = makePool(starter);
    pool.setReserved({ count: 1, idleMode: true, metrics: [] });
    await flush();
    starter.made[0]!.crash();
    await flush();
    expect(starter.made).toHaveLength(2);
    expect(starter.made[1]!.frozen).toBe(true);
    await pool.close();
  });

  it("goes through the invoker: setReserved with idleMode, a warm call, frozen again", async () => {
    const made: FakeInstance[] = [];
    const startInstance: StartInstance = async (t) => {
      const instance = createFakeInstance(`${t.fn.name}-${made.length + 1}`, t.fn.name);
      made.push(instance);
      return {
        instance,
        anatomy: FAKE_ANATOMY,
      };
    };
    const invoker = createInvoker({
      sandbox: {} as Sandbox,
      runtimes: { get: () => ({ language: "nodejs" }) as unknown as RuntimeDef },
      codeDir: async () => "/nonexistent",
      record: () => undefined,
      logger: silent,
      clock: createManualClock(),
      keepAliveMs: KEEP_ALIVE,
      concurrencyQuota: 10,
      startInstance,
    });
    const t = target("idle");
    invoker.setReserved(t, 1, { idleMode: true, metrics: [] });
    await flush();
    expect(made.map((i) => i.frozen)).toEqual([true]);
    const r = await invoker.invoke({ target: t, event: "{}", requestId: "r1", kind: "sync" });
    expect(r).toMatchObject({ ok: true, coldStart: false, instanceId: "idle-1" });
    expect(made[0]!.frozen).toBe(true);
    expect(made[0]!.thaws).toBe(1);
    await invoker.close();
    expect(made[0]!.closed).toBe(true);
  });
});

function target(name: string, concurrency = -1): InvokeTarget {
  return {
    fn: { id: `id-${name}`, projectId: "p", package: "default", name, runtime: "x", createdAt: "" },
    version: {
      version: "latest",
      revision: 1,
      memorySize: 128,
      timeout: 30,
      userData: {},
      encryptedUserData: {},
      strategy: { concurrency, concurrentNum: 1 },
      extra: {},
    } as unknown as FunctionVersion,
    alias: "",
  };
}

describe("metric_configs (Concurrency)", () => {
  it("metricMinimum: the largest min whose threshold the utilisation reaches", () => {
    const ms = [metric(50, 3), metric(90, 5)];
    expect(metricMinimum(ms, 0, 4)).toBe(0);
    expect(metricMinimum(ms, 1, 4)).toBe(0); // 25 %
    expect(metricMinimum(ms, 2, 4)).toBe(3); // 50 %
    expect(metricMinimum(ms, 4, 4)).toBe(5); // 100 %
    expect(metricMinimum(ms, 1, 0)).toBe(5); // calls and no instance
    expect(metricMinimum(ms, 0, 0)).toBe(0);
    expect(metricMinimum([], 9, 1)).toBe(0);
  });

  it("keeps min instances while utilisation ≥ threshold, falls back below it (fake clock)", async () => {
    const gate = createGate();
    const starter = createStarter("f", gate);
    const { pool, clock } = makePool(starter);
    pool.setReserved({ count: 1, idleMode: false, metrics: [metric(50, 3)] });
    await flush();
    expect(pool.stats()).toMatchObject({ instances: 1, reserved: 1 });
    // A call on the one instance: 100 % ≥ 50 % at the call's start → 3 reserved.
    const lease = await pool.acquire();
    await flush();
    expect(pool.stats()).toMatchObject({ instances: 3, reserved: 3, inflight: 1 });
    // Still busy at the next sample: 1 call / 3 instances = 33 % < 50 % → back to the count.
    await clock.advance(METRIC_INTERVAL_MS);
    expect(pool.stats().reserved).toBe(1);
    pool.release(lease.slot);
    // The extra instances are ordinary again: stopped after the keep-alive, the count stays.
    await clock.advance(KEEP_ALIVE);
    expect(pool.stats()).toMatchObject({ instances: 1, reserved: 1 });
    await pool.close();
  });

  it("rises on the timer too, and stops sampling once retired", async () => {
    const gate = createGate();
    const starter = createStarter("f", gate);
    const { pool, clock } = makePool(starter, { concurrentNum: 2 });
    pool.setReserved({ count: 0, idleMode: false, metrics: [metric(75, 2)] });
    // Two calls on one instance of concurrent_num 2: at the first call 1/0 → 2 reserved.
    const a = pool.acquire();
    await flush();
    expect(pool.stats().reserved).toBe(2);
    await clock.advance(METRIC_INTERVAL_MS);
    // 1 call over 2 instances × 2 = 25 %: fallen back.
    expect(pool.stats().reserved).toBe(0);
    const b = pool.acquire();
    const c = pool.acquire();
    const d = pool.acquire();
    await flush();
    // 4 calls at the last start over capacity 4 → 2 again (they are both busy now).
    expect(pool.stats()).toMatchObject({ inflight: 4, reserved: 2 });
    gate.open();
    for (const l of await Promise.all([a, b, c, d])) pool.release(l.slot);
    await clock.advance(METRIC_INTERVAL_MS);
    expect(pool.stats().reserved).toBe(0);
    pool.retire();
    const pending = clock.pending;
    await clock.advance(10 * METRIC_INTERVAL_MS);
    expect(clock.pending).toBeLessThanOrEqual(pending);
    await pool.close();
  });
});

describe("validation and quota of metric tactics", () => {
  const config = (metrics: ReservedMetric[], count = 1): ReservedConfig => ({
    projectId: "p",
    functionId: "id-v",
    qualifier: "latest",
    qualifierType: "version",
    count,
    idleMode: true,
    cronConfigs: [],
    metricConfigs: metrics,
    updatedAt: 0,
  });
  const setup = (quota = 100) => {
    const applied: unknown[] = [];
    const reserved = createReservedInstances({
      store: {
        put: async () => undefined,
        delete: async () => undefined,
        list: async () => [],
        close: async () => undefined,
      },
      invoker: {
        concurrencyQuota: quota,
        setReserved: (_t, count, more) => void applied.push({ count, ...more }),
      },
      resolve: async () => target("v"),
      clock: createManualClock(),
      logger: silent,
    });
    return { reserved, applied };
  };

  it.each([
    ["threshold 0", { ...metric(0, 1) }],
    ["threshold 101", { ...metric(101, 1) }],
    ["a fractional threshold", { ...metric(50, 1), threshold: 50.5 }],
    ["min 1001", { ...metric(50, 1001) }],
    ["another type", { ...metric(50, 1), type: "Memory" }],
    ["an empty name", { ...metric(50, 1), name: "" }],
    ["a 61-character name", { ...metric(50, 1), name: "n".repeat(61) }],
  ])("refuses %s with FSS.0400", async (_what, m) => {
    const { reserved } = setup();
    const err = await reserved.put(config([m]), target("v")).catch((e: unknown) => e);
    expect(isFsError(err) && err.fss).toBe("FSS.0400");
  });

  it("hands idle mode and the tactics to the invoker; a metric min counts against the quota", async () => {
    const { reserved, applied } = setup(10);
    await reserved.put(config([metric(80, 4)]), target("v"));
    expect(applied).toEqual([{ count: 1, idleMode: true, metrics: [metric(80, 4)] }]);
    // 90 % of 10 = 9: a min of 10 is above it although count is 1.
    const err = await reserved.put(config([metric(80, 10)]), target("v")).catch((e: unknown) => e);
    expect(isFsError(err) && err.fss).toBe("FSS.0400");
    // Count 0 with a tactic keeps the setting.
    await reserved.put(config([metric(80, 2)], 0), target("v"));
    expect(await reserved.list("p")).toHaveLength(1);
  });
});
