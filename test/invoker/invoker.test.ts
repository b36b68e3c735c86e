import { describe, expect, it } from "vitest";
import { isFsError } from "../../src/core/errors.js";
import type { FunctionRecord, FunctionVersion, InvocationRecord } from "../../src/core/types.js";
import { createInvoker, type InvokerOptions } from "../../src/invoker/invoker.js";
import type { StartInstance } from "../../src/invoker/instance-starter.js";
import { invocationLog, resultLog } from "../../src/invoker/log-format.js";
import type { InvokeTarget } from "../../src/invoker/types.js";
import type { RuntimeDef } from "../../src/runtimes/types.js";
import type { Sandbox } from "../../src/sandbox/types.js";
import {
  createGate,
  createManualClock,
  createFakeInstance,
  FAKE_ANATOMY,
  flush,
  silent,
} from "./helpers.js";

const runtime = { language: "nodejs", names: ["Node.js20.15"] } as unknown as RuntimeDef;

function target(name: string, strategy = { concurrency: -1, concurrentNum: 1 }): InvokeTarget {
  const fn: FunctionRecord = {
    id: `id-${name}`,
    projectId: "p1",
    package: "default",
    name,
    runtime: "Node.js20.15",
    createdAt: "",
  };
  const version = {
    functionId: fn.id,
    version: "latest",
    handler: "index.handler",
    memorySize: 128,
    timeout: 30,
    userData: {},
    encryptedUserData: {},
    strategy,
    revision: 1,
    extra: {},
  } as unknown as FunctionVersion;
  return { fn, version, alias: "" };
}

function makeInvoker(over: Partial<InvokerOptions> = {}) {
  const gate = createGate();
  const owners: string[] = [];
  let n = 0;
  const startInstance: StartInstance = async (t) => {
    owners.push(t.fn.name);
    return {
      instance: createFakeInstance(`${t.fn.name}-${++n}`, t.fn.name, gate),
      anatomy: FAKE_ANATOMY,
    };
  };
  const invoker = createInvoker({
    sandbox: {} as Sandbox,
    runtimes: { get: () => runtime },
    codeDir: async () => "/nonexistent",
    record: () => undefined,
    logger: silent,
    clock: createManualClock(),
    keepAliveMs: 60_000,
    concurrencyQuota: 10,
    startInstance,
    ...over,
  });
  return { invoker, gate, owners };
}

const call = (invoker: ReturnType<typeof makeInvoker>["invoker"], t: InvokeTarget, i: number) =>
  invoker.invoke({ target: t, event: "{}", requestId: `r${i}`, kind: "sync" });

describe("invoker limits", () => {
  it("admits exactly the project quota under 30 parallel calls; the rest get 429 FSS.0429", async () => {
    const { invoker, gate } = makeInvoker({ concurrencyQuota: 10 });
    const fns = [target("a"), target("b"), target("c")];
    const settled = Array.from({ length: 30 }, (_, i) =>
      call(invoker, fns[i % 3]!, i).then(
        () => "ok",
        (e: unknown) => (isFsError(e) ? `${e.status} ${e.fss} ${e.code}` : String(e)),
      ),
    );
    await flush();
    expect(invoker.usage("p1").concurrency).toBe(10);
    gate.open();
    const out = await Promise.all(settled);
    expect(out.filter((o) => o === "ok")).toHaveLength(10);
    expect(out.filter((o) => o === "429 FSS.0429 TOO_MANY_REQUESTS")).toHaveLength(20);
    expect(invoker.usage("p1").concurrency).toBe(0);
    // Once the calls ended, the quota is free again.
    expect(await call(invoker, fns[0]!, 99)).toMatchObject({ ok: true });
    await invoker.close();
  });

  it("answers 429 'Function Disabled' for max instances 0", async () => {
    const { invoker } = makeInvoker();
    const err = await call(invoker, target("off", { concurrency: 0, concurrentNum: 1 }), 1).catch(
      (e: unknown) => e,
    );
    expect(isFsError(err) && [err.status, err.fss, err.message]).toEqual([
      429,
      "FSS.0429",
      "Function Disabled",
    ]);
    await invoker.close();
  });

  it("holds max instances × concurrent_num calls and queues the rest", async () => {
    const { invoker, gate, owners } = makeInvoker({ concurrencyQuota: 100 });
    const t = target("m", { concurrency: 3, concurrentNum: 2 });
    const calls = Array.from({ length: 20 }, (_, i) => call(invoker, t, i));
    await flush();
    expect(owners).toHaveLength(3);
    expect(invoker.stats()).toMatchObject({ instances: 3, inflight: 6, queued: 14 });
    gate.open();
    const results = await Promise.all(calls);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(new Set(results.map((r) => r.instanceId)).size).toBe(3);
    expect(results.filter((r) => r.coldStart)).toHaveLength(3);
    const cold = results.find((r) => r.coldStart)!;
    expect(cold.timings).toMatchObject({ placement: 1, sandbox: 2, boot: 3, load: 4 });
    await invoker.close();
  });

  it("never gives one function's instance to another", async () => {
    const { invoker, gate } = makeInvoker({ concurrencyQuota: 100 });
    gate.open();
    const a = target("fa");
    const b = target("fb");
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(invoker, i % 2 ? a : b, i)),
    );
    for (const [i, r] of results.entries()) {
      expect(r.instanceId.startsWith(i % 2 ? "fa-" : "fb-")).toBe(true);
    }
    await invoker.close();
  });

  it("keeps reserved instances of a version running and reports them", async () => {
    const { invoker, owners } = makeInvoker();
    const t = target("r", { concurrency: 10, concurrentNum: 1 });
    invoker.setReserved(t, 3);
    await flush();
    expect(owners).toHaveLength(3);
    expect(invoker.usage("p1")).toMatchObject({ instances: 3, reserved: 3 });
    invoker.setReserved(t, 0);
    expect(invoker.usage("p1").reserved).toBe(0);
    await invoker.close();
  });
});

describe("invocation records", () => {
  /** Instances whose every call answers with `log` as its output. */
  const withOutput = (log: string): Partial<InvokerOptions> => ({
    startInstance: async (t) => {
      const instance = createFakeInstance(`${t.fn.name}-1`, t.fn.name);
      instance.invoke = async () => ({
        ok: true,
        result: '"x"',
        durationMs: 1.5,
        maxRssKb: 2048,
        log,
      });
      return { instance, anatomy: FAKE_ANATOMY };
    },
  });

  it("keep the output and the log frame; the whole log made of them is the caller's", async () => {
    const records: InvocationRecord[] = [];
    const { invoker } = makeInvoker({
      ...withOutput("hello\n"),
      record: (r) => void records.push(r),
    });
    const r = await call(invoker, target("rec"), 1);
    expect(records).toHaveLength(1);
    const rec = records[0]!;
    expect(rec.log).toBe("hello\n");
    expect(rec.logFrame).toEqual({
      startMs: r.logFrame.startMs,
      endMs: r.logFrame.endMs,
      memorySize: 128,
    });
    expect(invocationLog(rec)).toBe(resultLog(r));
    expect(resultLog(r)).toMatch(
      /^\S+Z Start invoke request 'r1', version: latest\nhello\n\S+Z Finish invoke request 'r1', duration: 1\.500ms, billing duration: 2ms, memory used: 2\.000MB, billing memory: 128MB\n$/,
    );
    await invoker.close();
  });

  it("keep an output past 64 K characters as the whole log's last 64 K, without a frame", async () => {
    const records: InvocationRecord[] = [];
    const { invoker } = makeInvoker({
      ...withOutput(`${"x".repeat(70_000)}END\n`),
      record: (r) => void records.push(r),
    });
    const r = await call(invoker, target("big"), 1);
    const rec = records[0]!;
    expect(rec.logFrame).toBeUndefined();
    expect(rec.log).toHaveLength(65536);
    expect(rec.log).toMatch(/END\n\S+Z Finish invoke request 'r1', .* billing memory: 128MB\n$/);
    expect(invocationLog(rec)).toBe(resultLog(r).slice(-65536));
    await invoker.close();
  });
});
