import { describe, expect, it } from "vitest";
import type { FunctionRecord, FunctionVersion } from "../../src/core/types.js";
import { createInvoker } from "../../src/invoker/invoker.js";
import type { StartInstance } from "../../src/invoker/instance-starter.js";
import type { InvokeContext, RuntimeDef } from "../../src/runtimes/types.js";
import type { Sandbox } from "../../src/sandbox/types.js";
import { createFakeInstance, createManualClock, silent } from "./helpers.js";

describe("timeouts of sync and async calls", () => {
  it("caps a sync call at 900 s while an async call keeps the function's timeout (259200 s)", async () => {
    const seen: { timeoutMs: number; timeoutSeconds: number; invokeType: string }[] = [];
    const startInstance: StartInstance = async () => {
      const inst = createFakeInstance("long-1", "long");
      const invoke = inst.invoke.bind(inst);
      inst.invoke = (event: string, ctx: InvokeContext, opts: { timeoutMs: number }) => {
        seen.push({
          timeoutMs: opts.timeoutMs,
          timeoutSeconds: ctx.timeoutSeconds,
          invokeType: ctx.invokeType,
        });
        return invoke(event, ctx, opts);
      };
      return {
        instance: inst,
        anatomy: {
          placementMs: 0,
          sandboxMs: 0,
          bootMs: 0,
          loadMs: 0,
          initializerMs: 0,
          prewarmed: false,
        },
      };
    };
    const invoker = createInvoker({
      sandbox: {} as Sandbox,
      runtimes: {
        get: () => ({ language: "nodejs", names: ["Node.js20.15"] }) as unknown as RuntimeDef,
      },
      codeDir: async () => "/nonexistent",
      record: () => undefined,
      logger: silent,
      clock: createManualClock(),
      keepAliveMs: 60_000,
      concurrencyQuota: 10,
      startInstance,
    });
    const fn: FunctionRecord = {
      id: "id-long",
      projectId: "p1",
      package: "default",
      name: "long",
      runtime: "Node.js20.15",
      createdAt: "",
    };
    const version = {
      functionId: fn.id,
      version: "latest",
      handler: "index.handler",
      memorySize: 128,
      timeout: 259200,
      userData: {},
      encryptedUserData: {},
      strategy: { concurrency: -1, concurrentNum: 1 },
      revision: 1,
      extra: {},
    } as unknown as FunctionVersion;
    const target = { fn, version, alias: "" };
    try {
      await invoker.invoke({ target, event: "{}", requestId: "r-sync", kind: "sync" });
      await invoker.invoke({ target, event: "{}", requestId: "r-async", kind: "async" });
    } finally {
      await invoker.close();
    }
    expect(seen).toEqual([
      { timeoutMs: 900_000, timeoutSeconds: 900, invokeType: "sync" },
      { timeoutMs: 259_200_000, timeoutSeconds: 259200, invokeType: "async" },
    ]);
  });
});
