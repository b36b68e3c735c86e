import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createBody,
  deployFunction,
  fixtureFiles,
  startTestPlatform,
  type TestPlatform,
  zipFiles,
} from "../helpers/platform.js";

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
  const fns: [string, string, Record<string, string | Buffer>, Record<string, unknown>][] = [
    [
      "ctx-node",
      "Node.js20.15",
      fixtureFiles("node-context"),
      { user_data: JSON.stringify({ greeting: "hello" }) },
    ],
    [
      "ctx-py",
      "Python3.10",
      fixtureFiles("py-context"),
      { user_data: JSON.stringify({ greeting: "hallo" }) },
    ],
    ["echo-node", "Node.js18.15", fixtureFiles("node-echo"), {}],
    ["throw-node", "Node.js20.15", fixtureFiles("node-throw"), {}],
    ["cb-err-node", "Node.js20.15", fixtureFiles("node-callback-error"), {}],
    ["raise-py", "Python3.9", fixtureFiles("py-raise"), {}],
    ["slow-node", "Node.js20.15", fixtureFiles("node-slow"), { timeout: 3 }],
    [
      "init-node",
      "Node.js20.15",
      fixtureFiles("node-initializer"),
      { initializer_handler: "index.init", initializer_timeout: 5 },
    ],
    [
      "init-fail",
      "Node.js20.15",
      fixtureFiles("node-initializer"),
      { initializer_handler: "index.failingInit", initializer_timeout: 5 },
    ],
    [
      "init-py",
      "Python3.10",
      fixtureFiles("py-initializer"),
      { initializer_handler: "index.init", initializer_timeout: 5 },
    ],
    ["crash-node", "Node.js20.15", fixtureFiles("node-crash"), {}],
  ];
  for (const [name, runtime, files, extra] of fns) {
    await deployFunction(t, name, runtime, files, extra);
  }
});
afterAll(async () => {
  await t.close();
});

const invoke = (name: string, event: unknown, headers: Record<string, string> = {}) =>
  t.api("POST", t.v2(`/fgs/functions/${name}/invocations`), event, headers);

describe("sync invocation", () => {
  it("returns the raw result for v0 with the FunctionGraph headers", async () => {
    const r = await invoke("echo-node", { a: 1 });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ a: 1 });
    expect(r.headers["x-cff-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers["x-cff-response-version"]).toBe("v0");
    expect(r.headers["x-func-err-code"]).toBe("0");
    expect(r.headers["x-is-func-err"]).toBe("false");
    const summary = JSON.parse(r.headers["x-cff-invoke-summary"]!) as Record<string, number>;
    expect(summary["memorySize"]).toBe(128);
    expect(summary["billingDuration"]).toBe(Math.max(1, Math.ceil(summary["duration"]!)));
    expect(summary["memoryUsed"]).toBeGreaterThan(0);
    expect(r.headers["x-cff-function-log"]).toBeUndefined();
  });

  it("wraps the result in the v1 envelope with the log tail when asked", async () => {
    const r = await invoke(
      "ctx-node",
      { b: 2 },
      { "X-CFF-Request-Version": "v1", "X-Cff-Log-Type": "tail" },
    );
    expect(r.status).toBe(200);
    const body = r.json as { request_id: string; result: string; log: string; status: number };
    expect(body.request_id).toBe(r.headers["x-cff-request-id"]);
    expect(body.status).toBe(200);
    expect(typeof body.result).toBe("string");
    const result = JSON.parse(body.result) as Record<string, unknown>;
    expect(result["requestId"]).toBe(body.request_id);
    const log = Buffer.from(r.headers["x-cff-function-log"]!, "base64").toString("utf8");
    expect(log).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ Start invoke request '${body.request_id}', version: latest\\n`,
      ),
    );
    expect(log).toMatch(
      new RegExp(
        `Finish invoke request '${body.request_id}', duration: \\d+\\.\\d{3}ms, billing duration: \\d+ms, memory used: \\d+\\.\\d{3}MB, billing memory: 128MB\\n$`,
      ),
    );
    expect(body.log).toBe(log);
  });

  it("gives a Node.js handler the whole context and environment", async () => {
    const r = await invoke("ctx-node", {}, {});
    const c = r.json as Record<string, unknown> & {
      env: Record<string, unknown>;
      envKeys: string[];
    };
    expect(c).toMatchObject({
      functionName: "ctx-node",
      version: "latest",
      package: "default",
      projectId: t.projectId,
      userData: "hello",
      missingUserData: true,
      runningTime: 10,
      alias: "",
    });
    expect(String(c["memorySize"])).toBe("128");
    expect(String(c["cpu"])).toBe("300");
    expect(c["remaining"]).toBeGreaterThan(9000);
    expect(c["remaining"]).toBeLessThanOrEqual(10000);
    expect(c.env["greeting"]).toBe("hello");
    expect(c.env["RUNTIME_FUNC_NAME"]).toBe("ctx-node");
    expect(JSON.parse(c.env["RUNTIME_USERDATA"] as string)).toEqual({ greeting: "hello" });
    expect(c.env["NODE_EXTRA_CA_CERTS"]).toBeNull();
    expect(c["cwd"]).toBe(c.env["RUNTIME_CODE_ROOT"]);
    for (const k of [
      "RUNTIME_PROJECT_ID",
      "RUNTIME_PACKAGE",
      "RUNTIME_HANDLER",
      "RUNTIME_TIMEOUT",
      "RUNTIME_CPU",
      "RUNTIME_MEMORY",
    ]) {
      expect(c.envKeys).toContain(k);
    }
    expect(c.envKeys.some((k) => k.startsWith("FNGRAPH_") || k === "VITEST")).toBe(false);
  });

  it("hands the caller's x-cff-* headers to the function's context", async () => {
    const r = await invoke(
      "ctx-node",
      {},
      { "X-Cff-Workflow-Id": "wf-1", "X-Cff-Workflow-Run-Id": "run-2", "X-Other": "no" },
    );
    expect(r.json).toMatchObject({
      workflowId: "wf-1",
      workflowRunId: "run-2",
      workflowStateId: "",
    });
    expect((r.json as { requestId: string }).requestId).toBe(r.headers["x-cff-request-id"]);
  });

  it("gives a Python handler the context, and captures print and logger lines", async () => {
    const r = await invoke(
      "ctx-py",
      { x: 1 },
      { "X-CFF-Request-Version": "v1", "X-Cff-Log-Type": "tail" },
    );
    const body = r.json as { result: string; log: string };
    const c = JSON.parse(body.result) as Record<string, unknown> & { env: Record<string, unknown> };
    expect(c).toMatchObject({
      functionName: "ctx-py",
      version: "latest",
      userData: "hallo",
      package: "default",
    });
    expect(c.env["greeting"]).toBe("hallo");
    expect(c.env["NODE_EXTRA_CA_CERTS"]).toBeNull();
    expect(body.log).toContain("py print line");
    expect(body.log).toMatch(/\d{4}-\d\d-\d\dT[\d:.]+Z? [0-9a-f-]{36} INFO py info line/);
  });

  it("reports a thrown error in the contract's payload with X-Is-Func-Err", async () => {
    const r = await invoke("throw-node", {}, { "X-CFF-Request-Version": "v1" });
    expect(r.status).toBe(200);
    expect(r.headers["x-is-func-err"]).toBe("true");
    expect(r.headers["x-func-err-code"]).not.toBe("0");
    const body = r.json as { result: string; status: number };
    expect(body.status).not.toBe(200);
    const err = JSON.parse(body.result) as {
      errorMessage: string;
      errorType: string;
      stackTrace: string[];
    };
    expect(err.errorMessage).toMatch(/^function invocation exception, error: /);
    expect(err.errorType).toBeTruthy();
    expect(Array.isArray(err.stackTrace)).toBe(true);
  });

  it("reports a callback error as a function entry exception", async () => {
    const r = await invoke("cb-err-node", {});
    expect(r.headers["x-is-func-err"]).toBe("true");
    expect((r.json as { errorMessage: string }).errorMessage).toMatch(
      /^function entry exception, error: /,
    );
  });

  it("reports a Python exception", async () => {
    const r = await invoke("raise-py", {});
    expect(r.headers["x-is-func-err"]).toBe("true");
    const err = r.json as { errorMessage: string; errorType: string };
    expect(err.errorMessage).toMatch(/^function invocation exception, error: /);
  });

  it("kills a timed-out instance (4010) and the next call gets a fresh one", async () => {
    const first = await invoke("slow-node", { ms: 10 });
    const firstInstance = JSON.parse(first.headers["x-cff-invoke-summary"]!) as {
      coldStart: boolean;
    };
    expect(first.status).toBe(200);
    void firstInstance;
    const r = await invoke("slow-node", { ms: 10_000 }, { "X-CFF-Request-Version": "v1" });
    expect(r.status).toBe(200);
    expect(r.headers["x-func-err-code"]).toBe("4010");
    expect((r.json as { status: number }).status).toBe(4010);
    const next = await invoke("slow-node", { ms: 5 });
    expect(next.json).toEqual({ slept: 5 });
    expect(
      (JSON.parse(next.headers["x-cff-invoke-summary"]!) as { coldStart: boolean }).coldStart,
    ).toBe(true);
  });

  it("runs the initializer once per instance", async () => {
    const a = await invoke(
      "init-node",
      {},
      { "X-CFF-Request-Version": "v1", "X-Cff-Log-Type": "tail" },
    );
    const body = a.json as { result: string; log: string };
    expect(JSON.parse(body.result)).toEqual({ functionName: "init-node", at: "init" });
    expect(body.log).toContain("initializer ran");
    const b = await invoke(
      "init-node",
      {},
      { "X-CFF-Request-Version": "v1", "X-Cff-Log-Type": "tail" },
    );
    expect((b.json as { log: string }).log).not.toContain("initializer ran");
    const py = await invoke("init-py", {});
    expect(py.status).toBe(200);
    expect(py.json).toEqual({ functionName: "init-py" });
  });

  it("fails the call with the initialization payload when the initializer throws", async () => {
    const r = await invoke("init-fail", {});
    expect(r.status).toBe(200);
    expect(r.headers["x-is-func-err"]).toBe("true");
    expect(r.headers["x-func-err-code"]).toBe("4009");
    expect((r.json as { errorMessage: string }).errorMessage).toMatch(
      /^function initialization exception: /,
    );
  });

  it("survives a runtime that exits mid-call, and serves the next call", async () => {
    const r = await invoke("crash-node", { crash: true });
    expect(r.status).toBe(200);
    expect(r.headers["x-func-err-code"]).not.toBe("0");
    expect(r.headers["x-is-func-err"]).toBe("true");
    const ok = await invoke("crash-node", {});
    expect(ok.text).toBe("alive");
    expect(
      (JSON.parse(ok.headers["x-cff-invoke-summary"]!) as { coldStart: boolean }).coldStart,
    ).toBe(true);
  });

  it("reuses a warm instance and sees new code after an update", async () => {
    const zipV1 = await zipFiles({
      "index.js": "let n = 0; exports.handler = async () => ({ v: 1, n: ++n });",
    });
    await t.api("POST", t.v2("/fgs/functions"), {
      ...(await createBody("warm", "Node.js20.15", {})),
      func_code: { file: zipV1.toString("base64") },
    });
    expect((await invoke("warm", {})).json).toEqual({ v: 1, n: 1 });
    expect((await invoke("warm", {})).json).toEqual({ v: 1, n: 2 });
    const zipV2 = await zipFiles({
      "index.js": "let n = 0; exports.handler = async () => ({ v: 2, n: ++n });",
    });
    const up = await t.api("PUT", t.v2("/fgs/functions/warm/code"), {
      code_type: "zip",
      func_code: { file: zipV2.toString("base64") },
    });
    expect(up.status).toBe(200);
    expect((await invoke("warm", {})).json).toEqual({ v: 2, n: 1 });
    await t.api("PUT", t.v2("/fgs/functions/warm/config"), { memory_size: 256 });
    expect((await invoke("warm", {})).json).toEqual({ v: 2, n: 1 });
  });

  it("passes a non-JSON body through as a string and returns strings verbatim", async () => {
    const r = await invoke("echo-node", "plain text", { "content-type": "text/plain" });
    expect(r.text).toBe("plain text");
  });

  it("accepts a 5 MB event and rejects one over 6 MB with 413 FSS.1201", async () => {
    const big = { data: "x".repeat(5 * 1024 * 1024) };
    const ok = await invoke("echo-node", big);
    expect(ok.status).toBe(200);
    expect((ok.json as { data: string }).data.length).toBe(5 * 1024 * 1024);
    const tooBig = await invoke("echo-node", { data: "x".repeat(6 * 1024 * 1024 + 10) });
    expect(tooBig.status).toBe(413);
    expect((tooBig.json as { error_code: string }).error_code).toBe("FSS.1201");
  });

  it("fails a result over 6 MB with 4004 and keeps serving", async () => {
    const zip = await zipFiles({
      "index.js": "exports.handler = async (e) => 'y'.repeat(e.bytes);",
    });
    await t.api("POST", t.v2("/fgs/functions"), {
      ...(await createBody("big-result", "Node.js20.15", {})),
      memory_size: 256,
      func_code: { file: zip.toString("base64") },
    });
    const tooBig = await invoke(
      "big-result",
      { bytes: 6 * 1024 * 1024 + 1 },
      { "X-CFF-Request-Version": "v1" },
    );
    expect(tooBig.status).toBe(200);
    expect(tooBig.headers["x-func-err-code"]).toBe("4004");
    expect(tooBig.headers["x-is-func-err"]).toBe("true");
    expect((tooBig.json as { status: number }).status).toBe(4004);
    const ok = await invoke("big-result", { bytes: 6 * 1024 * 1024 });
    expect(ok.status).toBe(200);
    expect(ok.body.length).toBe(6 * 1024 * 1024);
  });

  it("answers 404 FSS.1051 for an unknown function", async () => {
    const r = await invoke("ghost", {});
    expect(r.status).toBe(404);
    expect((r.json as { error_code: string }).error_code).toBe("FSS.1051");
  });

  it("answers 429 FSS.0429 for a function with max instances 0", async () => {
    await t.api(
      "POST",
      t.v2("/fgs/functions"),
      await createBody("disabled", "Node.js20.15", fixtureFiles("node-echo")),
    );
    const up = await t.api("PUT", t.v2("/fgs/functions/disabled/config-max-instance"), {
      max_instance_num: 0,
    });
    expect(up.status).toBe(200);
    const r = await invoke("disabled", {});
    expect(r.status).toBe(429);
    expect(r.json).toEqual({ error_code: "FSS.0429", error_msg: "Function Disabled" });
  });
});
