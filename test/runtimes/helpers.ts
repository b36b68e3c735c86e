import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import {
  createInstance,
  launchRuntime,
  type Instance,
  type InstanceOptions,
  type LaunchedRuntime,
  type LaunchOptions,
} from "../../src/runtimes/instance.js";
import { createRuntimeRegistry } from "../../src/runtimes/registry.js";
import type { InvokeContext, InvokeOutcome, LoadSpec } from "../../src/runtimes/types.js";
import { createPlainProcessSandbox } from "../../src/sandbox/plain-process.js";
import type { Sandbox } from "../../src/sandbox/types.js";

const here = path.dirname(fileURLToPath(import.meta.url));

export const PYTHON = "/usr/bin/python3";

export function fixture(name: string): string {
  return path.resolve(here, "../fixtures/functions", name);
}

export function makeContext(over: Partial<InvokeContext> = {}): InvokeContext {
  return {
    requestId: "req-1",
    functionName: "fn",
    version: "latest",
    alias: "",
    package: "default",
    projectId: "proj-1",
    memorySize: 128,
    cpuMillicores: 300,
    timeoutSeconds: 3,
    deadline: Date.now() + 3000,
    invokeType: "sync",
    userData: {},
    accessKey: "",
    secretKey: "",
    securityToken: "",
    authToken: "",
    headers: {},
    ...over,
  };
}

export interface Harness {
  sandbox: Sandbox;
  /** pids of every process launched through the harness. */
  pids: number[];
  start(
    fixtureName: string,
    runtime: string,
    load?: Partial<LoadSpec>,
    extra?: Partial<InstanceOptions>,
  ): Promise<Instance>;
  /** Launch a runtime without loading it (as the prewarmed pool does); killed by `close`. */
  launch(fixtureName: string, runtime: string): Promise<LaunchedRuntime>;
  /** Close every instance and the sandbox; fail if any launched process survives. */
  close(): Promise<void>;
}

let counter = 0;

export function createHarness(): Harness {
  const inner = createPlainProcessSandbox({ logger: silentLogger });
  const pids: number[] = [];
  const sandbox: Sandbox = {
    ...inner,
    paths: (spec) => inner.paths(spec),
    close: () => inner.close(),
    async launch(spec) {
      const proc = await inner.launch(spec);
      pids.push(proc.pid);
      return proc;
    },
  };
  const registry = createRuntimeRegistry({ nodePath: process.execPath, pythonPath: PYTHON });
  const instances: Instance[] = [];
  const launched: LaunchedRuntime[] = [];
  const launchOptions = (fixtureName: string, runtimeName: string): LaunchOptions => {
    const runtime = registry.get(runtimeName);
    if (!runtime) throw new Error(`no runtime ${runtimeName}`);
    return {
      id: `t${process.pid}-${++counter}`,
      sandbox,
      runtime,
      codeDir: fixture(fixtureName),
      memoryMb: 128,
      cpuMillicores: 300,
      tmpMb: 64,
      network: "loopback",
      mounts: [],
      logger: silentLogger,
    };
  };
  return {
    sandbox,
    pids,
    async start(fixtureName, runtimeName, load = {}, extra = {}) {
      const inst = await createInstance({
        ...launchOptions(fixtureName, runtimeName),
        load: {
          handler: "index.handler",
          initializer: "",
          initializerTimeoutMs: 3000,
          env: {},
          ...load,
        },
        ...extra,
      });
      instances.push(inst);
      return inst;
    },
    async launch(fixtureName, runtimeName) {
      const runtime = await launchRuntime(launchOptions(fixtureName, runtimeName));
      launched.push(runtime);
      return runtime;
    },
    async close() {
      await Promise.all(instances.map((i) => i.close()));
      await Promise.all(launched.map((r) => r.kill()));
      await sandbox.close();
      for (const pid of pids) expectGone(pid);
    },
  };
}

/** The process and its whole group are gone. */
export function expectGone(pid: number): void {
  expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
  expect(() => process.kill(-pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
}

export function invoke(
  inst: Instance,
  event: unknown,
  ctx: Partial<InvokeContext> = {},
  timeoutMs = 5000,
): Promise<InvokeOutcome> {
  const body = typeof event === "string" ? event : JSON.stringify(event);
  return inst.invoke(body, makeContext(ctx), { timeoutMs });
}

/** Narrow an outcome to success, failing with its error otherwise. */
export function expectOk(outcome: InvokeOutcome): Extract<InvokeOutcome, { ok: true }> {
  if (!outcome.ok) throw new Error(`expected success, got ${JSON.stringify(outcome)}`);
  return outcome;
}

export function expectFail(outcome: InvokeOutcome): Extract<InvokeOutcome, { ok: false }> {
  if (outcome.ok) throw new Error(`expected failure, got ${JSON.stringify(outcome)}`);
  return outcome;
}

/** Resolve with the InstanceStartError a start attempt threw. */
export async function startError(p: Promise<unknown>): Promise<{
  name: string;
  errorCode: number;
  error: { errorMessage: string; errorType: string; stackTrace?: string[] };
  log: string;
}> {
  try {
    await p;
  } catch (err) {
    return err as never;
  }
  throw new Error("expected the start to fail");
}

/**
 * Calls an instance of a context fixture (node-context, py-context: the getters' values as JSON)
 * while the fixed part of the context changes from call to call and within one turn: each call
 * must see its own (the runtime takes the fixed part from `context` messages, PROTOCOL.md).
 */
export async function expectOwnContexts(inst: Instance): Promise<void> {
  const userData = { greeting: "hi" };
  const seen = async (over: Partial<InvokeContext>): Promise<Record<string, unknown>> =>
    JSON.parse(expectOk(await invoke(inst, {}, { userData, ...over })).result) as Record<
      string,
      unknown
    >;
  // Fixed fields sent ahead once, then again only when they change.
  expect(await seen({ requestId: "r1", alias: "a" })).toMatchObject({
    requestId: "r1",
    alias: "a",
    invokeType: "sync",
    userData: "hi",
  });
  expect(await seen({ requestId: "r2", alias: "a" })).toMatchObject({
    requestId: "r2",
    alias: "a",
  });
  expect(await seen({ requestId: "r3", invokeType: "async", version: "v2" })).toMatchObject({
    requestId: "r3",
    alias: "",
    invokeType: "async",
    version: "v2",
  });
  expect(await seen({ requestId: "r4", userData: { greeting: "other" } })).toMatchObject({
    requestId: "r4",
    invokeType: "sync",
    version: "latest",
    userData: "other",
  });
  // Calls of one turn go out in one write, each after its own fixed part.
  const three = await Promise.all([
    seen({ requestId: "x", alias: "x", memorySize: 256 }),
    seen({ requestId: "y", alias: "y", memorySize: 512 }),
    seen({ requestId: "z", alias: "y", memorySize: 512 }),
  ]);
  expect(three).toMatchObject([
    { requestId: "x", alias: "x", memorySize: 256 },
    { requestId: "y", alias: "y", memorySize: 512 },
    { requestId: "z", alias: "y", memorySize: 512 },
  ]);
}
