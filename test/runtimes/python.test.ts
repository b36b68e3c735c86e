import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  PYTHON,
  createHarness,
  fixture,
  expectFail,
  expectOk,
  expectOwnContexts,
  invoke,
  startError,
  type Harness,
} from "./helpers.js";
import { locateShimRoot } from "../../src/runtimes/registry.js";

const PY = "Python3.10";
let h: Harness;
beforeEach(() => {
  h = createHarness();
});
afterEach(async () => {
  await h.close();
});

describe("Python runtime", () => {
  it("echoes the parsed event; str verbatim, None empty, unserialisable 4007", async () => {
    const inst = await h.start("py-echo", PY);
    const out = expectOk(await invoke(inst, { a: [1, "ü"] }));
    expect(JSON.parse(out.result)).toEqual({ a: [1, "ü"] });
    expect(out.result).toContain("ü"); // ensure_ascii=False
    expect(out.maxRssKb).toBeGreaterThan(1000);
    expect(expectOk(await invoke(inst, "raw text")).result).toBe("raw text");
    const text = await h.start("py-echo", PY, { handler: "index.text" });
    expect(expectOk(await invoke(text, {})).result).toBe("plain text");
    const none = await h.start("py-echo", PY, { handler: "index.nothing" });
    expect(expectOk(await invoke(none, {})).result).toBe("");
    const bad = await h.start("py-echo", PY, { handler: "index.unserialisable" });
    expect(expectFail(await invoke(bad, {})).errorCode).toBe(4007);
  });

  it("speaks JSON without importing json, as json would", async () => {
    const inst = await h.start("py-modules", PY);
    const calls = [{ n: 1 }, "not json {", { s: "\u2028é", big: 2 ** 60 }];
    const outs = (await Promise.all(calls.map((e) => invoke(inst, e)))).map(expectOk);
    const results = outs.map((o) => JSON.parse(o.result) as { event: unknown; modules: string[] });
    expect(results.map((r) => r.event)).toEqual(calls);
    expect(results[0]?.modules).toEqual([]);
    const picky = await h.start("py-modules", PY, { handler: "index.picky" });
    const code = [
      "import json, sys",
      "sys.path.insert(0, sys.argv[1])",
      "import index",
      "print(json.dumps(index.picky(None, None), ensure_ascii=False), end='')",
    ].join("; ");
    const expected = execFileSync(PYTHON, ["-B", "-c", code, fixture("py-modules")], {
      encoding: "utf8",
    });
    expect(expectOk(await invoke(picky, {})).result).toBe(expected);
    const bad = await h.start("py-echo", PY, { handler: "index.unserialisable" });
    expect(expectFail(await invoke(bad, {})).error.errorMessage).toBe(
      "function result is invalid, error: Object of type set is not JSON serializable",
    );
  });

  it("falls back to the json package where _json is missing", () => {
    const code = [
      "import sys, runpy",
      "sys.modules['_json'] = None",
      "g = runpy.run_path(sys.argv[1], run_name='shim')",
      "import json",
      "print(g['_loads'] is json.loads, g['_dumps'] is json.dumps, g['_dumps_utf8']({'a': 'é'}))",
    ].join("; ");
    const r = spawnSync(
      PYTHON,
      ["-B", "-c", code, path.join(locateShimRoot(), "python", "shim", "runtime.py")],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe", "pipe"],
      },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe('True True {"a": "é"}\n');
  });

  it("context getters, env vars and log capture", async () => {
    const inst = await h.start("py-context", PY, {
      env: { RUNTIME_FUNC_NAME: "pyfn", greeting: "hi" },
    });
    const out = expectOk(
      await invoke(
        inst,
        {},
        {
          requestId: "py-req",
          functionName: "pyfn",
          version: "v2",
          alias: "a1",
          package: "pkg",
          projectId: "proj",
          memorySize: 512,
          cpuMillicores: 600,
          timeoutSeconds: 10,
          deadline: Date.now() + 10_000,
          userData: { greeting: "hi" },
          accessKey: "ak",
          secretKey: "sk",
          securityToken: "st",
          authToken: "tok",
          invokeType: "async",
          headers: {
            "x-cff-workflow-id": "wf",
            "x-cff-workflow-run-id": "wfr",
            "x-cff-workflow-state-id": "wfs",
            "x-cff-security-secret-key": "ssk",
          },
        },
      ),
    );
    const r = JSON.parse(out.result) as Record<string, unknown> & { remaining: number };
    expect(r).toMatchObject({
      requestId: "py-req",
      runningTime: 10,
      accessKey: "ak",
      securityToken: "st",
      token: "tok",
      userData: "hi",
      missingUserData: null,
      functionName: "pyfn",
      version: "v2",
      memorySize: 512,
      cpu: 600,
      projectId: "proj",
      package: "pkg",
      alias: "a1",
      workflowId: "wf",
      workflowRunId: "wfr",
      workflowStateId: "wfs",
      secretKey: "sk",
      // No x-cff-security-access-key header: the function's own access key.
      securityAccessKey: "ak",
      securitySecretKey: "ssk",
      invokeType: "async",
      env: { greeting: "hi", RUNTIME_FUNC_NAME: "pyfn", NODE_EXTRA_CA_CERTS: null },
    });
    expect(r.cwd).toBe(
      h.sandbox.paths({ id: "x", codeDir: r.cwd as string, runtimeDir: "" }).codeRoot,
    );
    expect(r.remaining).toBeGreaterThan(5000);
    expect(out.log).toContain("py print line\n");
    expect(out.log).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z py-req INFO py info line$/m);
  });

  it("gives each call its own context while the fixed part changes between calls", async () => {
    await expectOwnContexts(await h.start("py-context", PY));
  });

  it("a raise → 4002 with type and stack; a module that does not compile → 4001", async () => {
    const inst = await h.start("py-raise", PY);
    const out = expectFail(await invoke(inst, {}));
    expect(out.errorCode).toBe(4002);
    expect(out.fatal).toBe(false);
    expect(out.error.errorMessage).toBe("function invocation exception, error: quota exhausted");
    expect(out.error.errorType).toBe("QuotaError");
    expect(out.error.stackTrace?.join("\n")).toMatch(/index\.py.*in check/s);
    expect(out.error.stackTrace?.join("\n")).not.toMatch(/runtime\.py/);
    const broken = await startError(h.start("py-raise", PY, { handler: "broken.handler" }));
    expect(broken.errorCode).toBe(4001);
    expect(broken.error.errorType).toBe("SyntaxError");
    for (const handler of ["nomodule.handler", "index.absent"]) {
      expect((await startError(h.start("py-echo", PY, { handler }))).errorCode).toBe(4001);
    }
  });

  it("bytes results are decoded; MemoryError → fatal 4205", async () => {
    const data = await h.start("py-raise", PY, { handler: "index.data" });
    expect(expectOk(await invoke(data, {})).result).toBe("bytes ü");
    const oom = await h.start("py-raise", PY, { handler: "index.oom" });
    const out = expectFail(await invoke(oom, {}));
    expect(out.errorCode).toBe(4205);
    expect(out.fatal).toBe(true);
    expect(oom.dead).toBe(true);
  });

  it("reports the initializer's time apart from the module load", async () => {
    const slow = await h.start("py-initializer", PY, { initializer: "index.slow_init" });
    expect(slow.timings.initializerMs).toBeGreaterThanOrEqual(199);
    const plain = await h.start("py-initializer", PY);
    expect(plain.timings.initializerMs).toBe(0);
  });

  it("initializer ok, failing (4009) and timing out (4211)", async () => {
    const inst = await h.start("py-initializer", PY, {
      initializer: "index.init",
      env: { RUNTIME_FUNC_NAME: "init-py" },
    });
    expect(inst.startLog).toContain("py initializer ran");
    expect(JSON.parse(expectOk(await invoke(inst, {})).result)).toEqual({
      functionName: "init-py",
    });
    const failing = await startError(
      h.start("py-initializer", PY, { initializer: "index.failing_init" }),
    );
    expect(failing.errorCode).toBe(4009);
    expect(failing.error).toMatchObject({
      errorMessage: "function initialization exception: cannot connect",
      errorType: "RuntimeError",
    });
    const hanging = await startError(
      h.start("py-initializer", PY, {
        initializer: "index.hanging_init",
        initializerTimeoutMs: 300,
      }),
    );
    expect(hanging.errorCode).toBe(4211);
  });

  it("runs concurrent invocations on threads", async () => {
    const inst = await h.start("py-slow", PY);
    const t0 = performance.now();
    const outs = await Promise.all([0, 1, 2, 3].map(() => invoke(inst, { ms: 400 })));
    const elapsed = performance.now() - t0;
    const threads = outs.map((o) => (JSON.parse(expectOk(o).result) as { thread: string }).thread);
    expect(new Set(threads).size).toBe(4);
    // Pooled threads are only reused when idle: four names mean four overlapping calls.
    expect(elapsed).toBeLessThan(1600); // serial would take ≥ 1600
    expect(inst.inflight).toBe(0);
  });

  it("timeout kills the instance (4010)", async () => {
    const inst = await h.start("py-slow", PY);
    const out = expectFail(await invoke(inst, { ms: 10_000 }, {}, 300));
    expect(out.errorCode).toBe(4010);
    expect(out.fatal).toBe(true);
    expect(inst.dead).toBe(true);
  });
});
