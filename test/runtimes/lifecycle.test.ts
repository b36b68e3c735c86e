import { existsSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { createInstance } from "../../src/runtimes/instance.js";
import { createRuntimeRegistry } from "../../src/runtimes/registry.js";
import type { RuntimeDef } from "../../src/runtimes/types.js";
import type { Sandbox } from "../../src/sandbox/types.js";
import {
  createHarness,
  expectFail,
  expectGone,
  expectOk,
  fixture,
  invoke,
  makeContext,
  startError,
  type Harness,
} from "./helpers.js";

const NODE = "Node.js20.15";
let h: Harness;
beforeEach(() => {
  h = createHarness();
});
afterEach(async () => {
  await h.close();
});

describe("instance lifecycle", () => {
  it("reads the OOM counter after every call when the sandbox's peak is only sampled", async () => {
    // cgroup v2 before 6.12 samples memory.current: a child killed at the limit between two
    // samples leaves a small peak, and only the OOM counter tells.
    let counterReads = 0;
    const sandboxWith = (peakExact: boolean, oom: boolean): Sandbox => ({
      ...h.sandbox,
      async launch(spec) {
        const proc = await h.sandbox.launch(spec);
        return {
          ...proc,
          peakExact,
          peakMemoryBytes: () => 1024 * 1024,
          resetPeakMemory: () => undefined,
          oomKilled: () => (counterReads++, oom),
        };
      },
    });
    const exact = await h.start("node-echo", NODE, {}, { sandbox: sandboxWith(true, false) });
    expectOk(await invoke(exact, { a: 1 }));
    // An exact peak at 1 MB of 128 rules an OOM kill out: no read of the counter.
    expect(counterReads).toBe(0);
    const sampled = await h.start("node-echo", NODE, {}, { sandbox: sandboxWith(false, true) });
    const out = expectFail(await invoke(sampled, { a: 1 }));
    expect(out).toMatchObject({ errorCode: 4205, fatal: true });
    expect(counterReads).toBeGreaterThan(0);
  });

  it("a fresh instance keeps the launch CPU share through its load and first call", async () => {
    // A bootstrap's load is its own server starting; at the function's share (0.3 CPU at 128 MB)
    // an http function's took 264-395 ms instead of 81-134.
    const applied: string[] = [];
    const counting: Sandbox = {
      ...h.sandbox,
      async launch(spec) {
        const proc = await h.sandbox.launch(spec);
        return { ...proc, applyRuntimeLimits: () => applied.push(spec.id) };
      },
    };
    const called = await h.start("node-echo", NODE, {}, { sandbox: counting });
    expect(applied).toEqual([]);
    expectOk(await invoke(called, { a: 1 }));
    expect(applied).toHaveLength(1);
    expectOk(await invoke(called, { a: 2 }));
    expect(applied).toHaveLength(1);
    // Without a call, the share is applied a second after the load.
    applied.length = 0;
    await h.start("node-echo", NODE, {}, { sandbox: counting });
    expect(applied).toEqual([]);
    await new Promise((r) => setTimeout(r, 1300));
    expect(applied).toHaveLength(1);
  });

  it("timeout kills the instance (4010) and the next instance works", async () => {
    const inst = await h.start("node-slow", NODE);
    let exited = false;
    inst.onExit(() => (exited = true));
    const out = expectFail(await invoke(inst, { ms: 10_000 }, {}, 200));
    expect(out).toMatchObject({
      errorCode: 4010,
      isFuncErr: true,
      fatal: true,
      error: { errorMessage: "invocation timeout", errorType: "TimeoutError" },
    });
    expect(out.durationMs).toBeGreaterThanOrEqual(190);
    expect(inst.dead).toBe(true);
    expect(exited).toBe(true);
    expectGone(h.pids[0] ?? 0);
    // A dead instance refuses further work without hanging.
    expect(expectFail(await invoke(inst, { ms: 1 })).fatal).toBe(true);
    const next = await h.start("node-slow", NODE);
    expect(JSON.parse(expectOk(await invoke(next, { ms: 5 })).result)).toEqual({ slept: 5 });
  });

  it("abort signal cancels with 4208 and kills the instance", async () => {
    const inst = await h.start("node-slow", NODE);
    const ac = new AbortController();
    const p = inst.invoke('{"ms":10000}', makeContext(), { timeoutMs: 10_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    const out = expectFail(await p);
    expect(out.errorCode).toBe(4208);
    expect(out.fatal).toBe(true);
    expect(inst.dead).toBe(true);
  });

  it("an aborted call shares its runtime: it runs on, and the other calls are not hurt", async () => {
    const inst = await h.start("node-slow", NODE);
    const ac = new AbortController();
    const left = inst.invoke('{"ms":300}', makeContext(), { timeoutMs: 10_000, signal: ac.signal });
    const other = invoke(inst, { ms: 300 }, {}, 10_000);
    setTimeout(() => ac.abort(), 50);
    expect(JSON.parse(expectOk(await other).result)).toEqual({ slept: 300 });
    // The abandoned call ends as the runtime answers it (its caller is gone; nobody reads it).
    expect(JSON.parse(expectOk(await left).result)).toEqual({ slept: 300 });
    expect(inst.dead).toBe(false);
    expect(JSON.parse(expectOk(await invoke(inst, { ms: 1 })).result)).toEqual({ slept: 1 });
  });

  it("a timeout resolves every pending call on the instance at once", async () => {
    const inst = await h.start("node-slow", NODE);
    const others = [
      invoke(inst, { ms: 10_000 }, {}, 10_000),
      invoke(inst, { ms: 10_000 }, {}, 10_000),
    ];
    const first = await invoke(inst, { ms: 10_000 }, {}, 200);
    expect(expectFail(first).errorCode).toBe(4010);
    for (const o of await Promise.all(others)) {
      const f = expectFail(o);
      expect(f.fatal).toBe(true);
      expect(f.error.errorType).toBe("RuntimeExitError");
    }
    expect(inst.inflight).toBe(0);
  });

  it("each call times out at its own deadline, whatever the calls beside it did", async () => {
    const inst = await h.start("node-slow", NODE);
    // The first call's deadline comes first and passes after it ended: the second call, still
    // running then, is not stopped before its own.
    const first = invoke(inst, { ms: 100 }, {}, 300);
    await new Promise((r) => setTimeout(r, 50));
    const second = await invoke(inst, { ms: 10_000 }, {}, 600);
    expect(JSON.parse(expectOk(await first).result)).toEqual({ slept: 100 });
    const f = expectFail(second);
    expect(f.errorCode).toBe(4010);
    expect(f.durationMs).toBeGreaterThanOrEqual(590);
    expect(inst.dead).toBe(true);
  });

  it("process.exit inside the handler → fatal 4002 with the output so far", async () => {
    const inst = await h.start("node-crash", NODE);
    expect(expectOk(await invoke(inst, {})).result).toBe("alive");
    const out = expectFail(await invoke(inst, { crash: true }));
    expect(out.errorCode).toBe(4002);
    expect(out.fatal).toBe(true);
    expect(out.error.errorType).toBe("RuntimeExitError");
    expect(out.error.errorMessage).toContain("exit code 3");
    expect(out.log).toContain("about to exit");
    expect(inst.dead).toBe(true);
  });

  it("JS heap exhaustion → 4205 runtime memory limit exceeded", async () => {
    const inst = await h.start("node-heap-oom", NODE, {}, { memoryMb: 64 });
    const out = expectFail(await invoke(inst, {}, {}, 20_000));
    expect(out.errorCode).toBe(4205);
    expect(out.error.errorMessage).toBe("runtime memory limit exceeded");
    expect(out.fatal).toBe(true);
  }, 30_000);

  it("a 5 MB event round-trips through Node and Python", async () => {
    const big = { blob: "é".repeat(2_500_000), n: 1 };
    const body = JSON.stringify(big);
    expect(Buffer.byteLength(body)).toBeGreaterThan(5_000_000);
    for (const [fx, rt] of [
      ["node-echo", NODE],
      ["py-echo", "Python3.10"],
    ] as const) {
      const inst = await h.start(fx, rt);
      const out = expectOk(await inst.invoke(body, makeContext(), { timeoutMs: 20_000 }));
      expect(JSON.parse(out.result)).toEqual(big);
    }
  });

  it("close() is graceful, idempotent and leaves no process", async () => {
    const inst = await h.start("node-echo", NODE);
    const py = await h.start("py-echo", "Python3.10");
    let exits = 0;
    inst.onExit(() => exits++);
    const { tmpDir } = h.sandbox.paths({ id: inst.id, codeDir: "", runtimeDir: "" });
    expect(existsSync(tmpDir)).toBe(true);
    await Promise.all([inst.close(), inst.close(), py.close()]);
    await inst.close();
    expect(inst.dead).toBe(true);
    expect(exits).toBe(1);
    for (const pid of h.pids) expectGone(pid);
    expect(existsSync(tmpDir)).toBe(false);
    let late = false;
    inst.onExit(() => (late = true));
    await Promise.resolve();
    expect(late).toBe(true);
  });
});

/** A fresh instance of `runtime` with the node-echo fixture as its code. */
const startWith = (runtime: RuntimeDef, startTimeoutMs = 5000) =>
  createInstance({
    id: `t-${Math.random().toString(36).slice(2)}`,
    sandbox: h.sandbox,
    runtime,
    codeDir: fixture("node-echo"),
    memoryMb: 128,
    cpuMillicores: 300,
    tmpMb: 64,
    network: "loopback",
    mounts: [],
    load: { handler: "index.handler", initializer: "", initializerTimeoutMs: 1000, env: {} },
    logger: silentLogger,
    startTimeoutMs,
  });

describe("the load travels with the launch", () => {
  const node = createRuntimeRegistry({ nodePath: process.execPath }).get(NODE);
  if (!node) throw new Error("no node runtime");
  // A runtime that reads one frame from fd 3 BEFORE it says anything, then says `ready` and
  // `loaded` in one write, and answers each call with the type and handler of that first frame.
  const script = `
    const fs = require("fs");
    let buf = Buffer.alloc(0);
    const chunk = Buffer.alloc(65536);
    const frame = () => {
      for (;;) {
        if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
          const n = buf.readUInt32BE(0);
          const msg = JSON.parse(buf.subarray(4, 4 + n).toString());
          buf = buf.subarray(4 + n);
          return msg;
        }
        let got;
        try { got = fs.readSync(3, chunk); } catch (e) { if (e.code === "EAGAIN") continue; throw e; }
        if (got === 0) process.exit(0);
        buf = Buffer.concat([buf, chunk.subarray(0, got)]);
      }
    };
    const out = (...msgs) => fs.writeSync(3, Buffer.concat(msgs.map((m) => {
      const b = Buffer.from(JSON.stringify(m));
      const h = Buffer.alloc(4);
      h.writeUInt32BE(b.length);
      return Buffer.concat([h, b]);
    })));
    const first = frame();
    out({ type: "ready" }, { type: "loaded" });
    for (;;) {
      const m = frame();
      if (m.type !== "invoke") continue;
      out({ type: "result", id: m.id, ok: true, durationMs: 0, maxRssKb: 0,
        result: JSON.stringify({ first: first.type, handler: first.handler }) });
    }
  `;
  const runtime: RuntimeDef = { ...node, command: () => [process.execPath, "-e", script] };

  it("a fresh instance's runtime finds `load` on fd 3 before it is ready", async () => {
    const inst = await startWith(runtime);
    try {
      // `loaded` came in the same write as `ready`, and still ended the start.
      const r = expectOk(await invoke(inst, {}));
      expect(JSON.parse(r.result)).toEqual({ first: "load", handler: "index.handler" });
    } finally {
      await inst.close();
    }
  });
});

describe("start-up failures never hang", () => {
  const registry = createRuntimeRegistry({ nodePath: process.execPath });
  const node = registry.get(NODE);
  if (!node) throw new Error("no node runtime");
  const fake = (argv: string[]): RuntimeDef => ({ ...node, command: () => argv });

  it("a runtime that exits before ready → 4201 with its output", async () => {
    const err = await startError(startWith(fake(["/bin/sh", "-c", "echo boom >&2; exit 7"])));
    expect(err.errorCode).toBe(4201);
    expect(err.error.errorMessage).toContain("exit code 7");
    expect(err.log).toContain("boom");
  });

  it("a runtime that never says ready → 4201 after startTimeoutMs", async () => {
    const t0 = performance.now();
    const err = await startError(startWith(fake(["/bin/sleep", "30"]), 300));
    expect(err.errorCode).toBe(4201);
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it("a missing interpreter → 4201", async () => {
    const err = await startError(startWith(fake(["/nonexistent/node"])));
    expect(err.errorCode).toBe(4201);
  });
});
