import { silentLogger, type Logger } from "../../src/core/logger.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createRuntimeRegistry } from "../../src/runtimes/registry.js";
import type { RuntimeDef } from "../../src/runtimes/types.js";
import {
  PYTHON,
  createHarness,
  expectFail,
  expectOk,
  expectOwnContexts,
  invoke,
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

describe("Node.js handler forms", () => {
  it("async handler echoes the parsed event", async () => {
    const inst = await h.start("node-echo", NODE);
    const out = expectOk(await invoke(inst, { a: 1, s: "ü" }));
    expect(JSON.parse(out.result)).toEqual({ a: 1, s: "ü" });
    expect(out.maxRssKb).toBeGreaterThan(1000);
    expect(out.durationMs).toBeGreaterThanOrEqual(0);
    expect(inst.timings.bootMs).toBeGreaterThan(0);
  });

  it("serialises strings verbatim and a non-JSON body is passed raw", async () => {
    const inst = await h.start("node-echo", NODE);
    expect(expectOk(await invoke(inst, "not json {")).result).toBe("not json {");
    expect(expectOk(await invoke(inst, '"quoted"')).result).toBe("quoted");
    expect(expectOk(await invoke(inst, "null")).result).toBe("");
  });

  it("callback handler", async () => {
    const inst = await h.start("node-callback", NODE);
    const out = expectOk(await invoke(inst, { x: 2 }));
    expect(JSON.parse(out.result)).toEqual({ got: { x: 2 }, via: "callback" });
  });

  it("callback error → 4002 'function entry exception'", async () => {
    const inst = await h.start("node-callback-error", NODE);
    const out = expectFail(await invoke(inst, {}));
    expect(out.errorCode).toBe(4002);
    expect(out.isFuncErr).toBe(true);
    expect(out.fatal).toBe(false);
    expect(out.error).toEqual({
      errorMessage: "function entry exception, error: bad input",
      errorType: "RangeError",
    });
  });

  it("throw and reject → 4002 'function invocation exception' with a stack trace", async () => {
    const inst = await h.start("node-throw", NODE);
    const thrown = expectFail(await invoke(inst, {}));
    expect(thrown.errorCode).toBe(4002);
    expect(thrown.error.errorMessage).toBe(
      "function invocation exception, error: thrown on purpose",
    );
    expect(thrown.error.errorType).toBe("Error");
    expect(thrown.error.stackTrace?.[0]).toMatch(/index\.js/);
    const rejected = expectFail(await invoke(inst, { reject: true }));
    expect(rejected.error.errorType).toBe("TypeError");
    // The instance keeps serving after user errors.
    expect(inst.dead).toBe(false);
  });

  it("sync throw and an unserialisable result (4007)", async () => {
    const sync = await h.start("node-throw", NODE, { handler: "index.sync" });
    expect(expectFail(await invoke(sync, {})).error.errorType).toBe("SyntaxError");
    const circ = await h.start("node-throw", NODE, { handler: "index.circular" });
    expect(expectFail(await invoke(circ, {})).errorCode).toBe(4007);
  });

  it("an uncaught exception fails the pending call; after the result it is only logged", async () => {
    const inst = await h.start("node-throw", NODE, { handler: "index.asyncThrow" });
    const out = expectFail(await invoke(inst, {}));
    expect(out.errorCode).toBe(4002);
    expect(out.error.errorMessage).toBe(
      "function invocation exception, error: thrown from a timer",
    );
    // Output while idle goes to the platform logger at debug.
    let idle = "";
    let seen: () => void = () => {};
    const lateLogged = new Promise<void>((r) => (seen = r));
    const logger: Logger = {
      ...silentLogger,
      debug: (obj) => {
        const output = (obj as { output?: unknown }).output;
        if (typeof output === "string") idle += output;
        if (idle.includes("late failure")) seen();
      },
      child: () => logger,
    };
    const later = await h.start("node-throw", NODE, { handler: "index.later" }, { logger });
    const first = expectOk(await invoke(later, {}));
    expect(first.result).toBe("ok");
    // The late error lands in the first call's log if it beat the result, else in the idle log.
    if (!first.log.includes("late failure")) await lateLogged;
    expect(expectOk(await invoke(later, {})).result).toBe("ok");
    expect(later.dead).toBe(false);
  });

  it("ESM: .mjs handler and a type:module package", async () => {
    const mjs = await h.start("node-esm", NODE);
    expect(JSON.parse(expectOk(await invoke(mjs, { q: 1 })).result)).toEqual({
      esm: true,
      sep: "/",
      event: { q: 1 },
    });
    const pkg = await h.start("node-esm-pkg", NODE);
    expect(JSON.parse(expectOk(await invoke(pkg, 5)).result)).toEqual({
      esmPackage: true,
      event: 5,
    });
  });
});

describe("Node.js context and environment", () => {
  it("exposes every context getter and the function env, and nothing of the host's", async () => {
    const inst = await h.start("node-context", NODE, {
      env: {
        RUNTIME_FUNC_NAME: "fn",
        RUNTIME_USERDATA: '{"greeting":"hello"}',
        RUNTIME_CODE_ROOT: "/opt/function/code",
        greeting: "hello",
      },
    });
    const out = expectOk(
      await invoke(
        inst,
        {},
        {
          requestId: "rid-42",
          functionName: "fn",
          version: "v1",
          alias: "prod",
          package: "pkg",
          projectId: "proj",
          memorySize: 256,
          cpuMillicores: 400,
          timeoutSeconds: 30,
          deadline: Date.now() + 30_000,
          userData: { greeting: "hello" },
          accessKey: "ak",
          secretKey: "sk",
          securityToken: "st",
          authToken: "tok",
          headers: { "x-cff-workflow-id": "wf", "x-cff-workflow-run-id": "run" },
        },
      ),
    );
    const r = JSON.parse(out.result) as Record<string, unknown> & {
      env: Record<string, unknown>;
      envKeys: string[];
      remaining: number;
    };
    expect(r).toMatchObject({
      requestId: "rid-42",
      runningTime: 30,
      accessKey: "ak",
      secretKey: "sk",
      securityAccessKey: "ak",
      securitySecretKey: "sk",
      securityToken: "st",
      token: "tok",
      userData: "hello",
      missingUserData: true,
      functionName: "fn",
      version: "v1",
      memorySize: 256,
      cpu: 400,
      projectId: "proj",
      package: "pkg",
      alias: "prod",
      workflowId: "wf",
      workflowRunId: "run",
      workflowStateId: "",
    });
    expect(r.remaining).toBeGreaterThan(25_000);
    expect(r.remaining).toBeLessThanOrEqual(30_000);
    // The sandbox's code root wins over what the caller assumed.
    expect(r.cwd).toBe(r.env.RUNTIME_CODE_ROOT);
    expect(r.env).toMatchObject({
      greeting: "hello",
      RUNTIME_FUNC_NAME: "fn",
      RUNTIME_USERDATA: '{"greeting":"hello"}',
      PATH: "/usr/local/bin:/usr/bin:/bin",
      NODE_EXTRA_CA_CERTS: null,
    });
    // Exactly the base env plus the function's: nothing inherited from the platform.
    expect(r.envKeys).toEqual(
      [
        "HOME",
        "LANG",
        "LD_LIBRARY_PATH",
        "NODE_PATH",
        "PATH",
        "RUNTIME_CODE_ROOT",
        "RUNTIME_FUNC_NAME",
        "RUNTIME_ROOT",
        "RUNTIME_USERDATA",
        "TMPDIR",
        "greeting",
      ].sort(),
    );
  });

  it("gives each call its own context while the fixed part changes between calls", async () => {
    await expectOwnContexts(await h.start("node-context", NODE));
  });

  it("captures console output and logger lines per invocation", async () => {
    const inst = await h.start("node-logs", NODE);
    const out = expectOk(await invoke(inst, { n: 7 }, { requestId: "req-log" }));
    expect(out.result).toBe("logged");
    expect(out.log).toContain("console line 7\n");
    expect(out.log).toContain("stderr line\n");
    expect(out.log).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z req-log INFO info line$/m);
    expect(out.log).toMatch(/req-log DEBUG shown debug/);
    expect(out.log).not.toContain("hidden debug");
    const again = expectOk(await invoke(inst, { n: 8 }));
    expect(again.log).toContain("console line 8");
    expect(again.log).not.toContain("console line 7");
  });

  it("caps a 20 MB stdout flood and still returns the result", async () => {
    const inst = await h.start("node-flood", NODE, {}, { maxLogBytes: 64 * 1024 });
    const out = expectOk(await invoke(inst, {}, {}, 20_000));
    expect(out.result).toBe("done");
    expect(out.log.length).toBeLessThan(70 * 1024);
    expect(out.log).toMatch(/log truncated: \d+ more bytes dropped/);
    // The pipes were drained: the instance still answers.
    expect(expectOk(await invoke(inst, {}, {}, 20_000)).result).toBe("done");
  });
});

describe("Node.js loading and initializer", () => {
  it("bad handlers fail with 4001", async () => {
    for (const handler of ["missing.handler", "index.nope", "noDot"]) {
      const err = await startError(h.start("node-echo", NODE, { handler }));
      expect(err.name).toBe("InstanceStartError");
      expect(err.errorCode).toBe(4001);
      expect(err.error.errorMessage).toMatch(/^function entry exception, error: /);
    }
    const notFn = await startError(h.start("node-throw", NODE, { handler: "index.bad" }));
    expect(notFn.errorCode).toBe(4001);
  });

  it("callback-style and async initializers run once, before the first request", async () => {
    const inst = await h.start("node-initializer", NODE, {
      initializer: "index.init",
      env: { RUNTIME_FUNC_NAME: "init-fn" },
    });
    expect(inst.startLog).toContain("initializer ran");
    const out = expectOk(await invoke(inst, {}));
    expect(JSON.parse(out.result)).toEqual({ functionName: "init-fn", at: "init" });
    expect(out.log).not.toContain("initializer ran");
    const asyncInst = await h.start("node-initializer", NODE, { initializer: "index.asyncInit" });
    expect(JSON.parse(expectOk(await invoke(asyncInst, {})).result)).toMatchObject({
      at: "asyncInit",
    });
  });

  it("reports the initializer's time apart from the module load", async () => {
    const slow = await h.start("node-initializer", NODE, { initializer: "index.slowInit" });
    // The initializer waits on a 200 ms timer. node counts a timer from the event loop's cached
    // time, which trails the clock by however long the loop's turn has run (here: the load), so
    // on a busy machine it fires a few ms short of 200 ms of real time (197.2 seen).
    expect(slow.timings.initializerMs).toBeGreaterThanOrEqual(180);
    expect(slow.timings.loadMs).toBeLessThan(slow.timings.initializerMs);
    const plain = await h.start("node-echo", NODE);
    expect(plain.timings.initializerMs).toBe(0);
    expect(plain.timings.loadMs).toBeGreaterThan(0);
  });

  it("failing initializers → 4009 'function initialization exception'", async () => {
    for (const initializer of ["index.failingInit", "index.callbackFailingInit", "index.absent"]) {
      const err = await startError(h.start("node-initializer", NODE, { initializer }));
      expect(err.errorCode).toBe(4009);
      expect(err.error.errorMessage).toMatch(/^function initialization exception: /);
    }
  });

  it("initializer timeout → 4211, and the next instance starts fine", async () => {
    const err = await startError(
      h.start("node-initializer", NODE, {
        initializer: "index.hangingInit",
        initializerTimeoutMs: 300,
      }),
    );
    expect(err.errorCode).toBe(4211);
    const next = await h.start("node-initializer", NODE, { initializer: "index.asyncInit" });
    expectOk(await invoke(next, {}));
  });
});

describe("Node.js prewarmed runtime", () => {
  it("warms its load and invoke paths on `warm`, stays unloaded, then loads and runs", async () => {
    const registry = createRuntimeRegistry({ nodePath: process.execPath, pythonPath: PYTHON });
    expect(registry.get(NODE)?.warmUp).toBe(true);
    const launched = await h.launch("node-echo", NODE);
    try {
      expect(launched.warmed).toBe(false);
      launched.warm();
      for (let i = 0; i < 500 && !launched.warmed; i++) await new Promise((r) => setTimeout(r, 10));
      expect(launched.warmed).toBe(true);
      const inst = await launched.load({
        handler: "index.handler",
        initializer: "",
        initializerTimeoutMs: 3000,
        env: {},
      });
      try {
        const out = expectOk(await invoke(inst, { after: "warm" }));
        expect(JSON.parse(out.result)).toEqual({ after: "warm" });
        // The warm-up's own module is not the function's handler.
        expect(out.log).not.toContain("warm");
      } finally {
        await inst.close();
      }
    } finally {
      await launched.kill();
    }
  });
});

describe("Node.js shim's channel", () => {
  const big = { blob: "ü".repeat(1_500_000) };

  it("speaks on fd 3 and times calls without loading net, v8 or perf_hooks, large frames included", async () => {
    const inst = await h.start("node-bindings", NODE);
    const calls = [{ n: 1 }, big, { n: 3 }].map((e) => invoke(inst, e));
    const outs = (await Promise.all(calls)).map(expectOk);
    const results = outs.map((o) => JSON.parse(o.result) as { event: unknown; modules: string[] });
    expect(results.map((r) => r.event)).toEqual([{ n: 1 }, big, { n: 3 }]);
    expect(results[0]?.modules).toEqual([]);
  });

  it("falls back to net.Socket and the v8 module where node's bindings are out of reach", async () => {
    // Under node's permission model process.binding throws (ERR_ACCESS_DENIED).
    const node = createRuntimeRegistry({ nodePath: process.execPath }).get(NODE)!;
    const denied: RuntimeDef = {
      ...node,
      command: (paths, opts) => {
        const [bin, ...args] = node.command(paths, opts);
        return [bin!, "--experimental-permission", "--allow-fs-read=*", ...args];
      },
    };
    const inst = await h.start("node-bindings", NODE, {}, { runtime: denied });
    const first = expectOk(await invoke(inst, big));
    const r = JSON.parse(first.result) as { event: unknown; modules: string[] };
    expect(r.event).toEqual(big);
    expect(r.modules.sort()).toEqual(["NativeModule net", "NativeModule v8"]);
  });
});
