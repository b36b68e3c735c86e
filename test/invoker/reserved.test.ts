import { describe, expect, it } from "vitest";
import { isFsError } from "../../src/core/errors.js";
import type { FunctionVersion } from "../../src/core/types.js";
import { createReservedInstances } from "../../src/invoker/reserved-instances.js";
import type { InvokeTarget } from "../../src/invoker/types.js";
import type { ReservedConfig, ReservedStore } from "../../src/store/reserved.js";
import { createManualClock, silent } from "./helpers.js";

function memoryStore(): ReservedStore {
  const rows = new Map<string, ReservedConfig>();
  return {
    put: async (c) => void rows.set(`${c.functionId}/${c.qualifier}`, c),
    delete: async (f, q) => void rows.delete(`${f}/${q}`),
    list: async (p) => [...rows.values()].filter((c) => p === undefined || c.projectId === p),
    close: async () => undefined,
  };
}

const target = (name: string, max = -1): InvokeTarget => ({
  fn: { id: `id-${name}`, projectId: "p", package: "default", name, runtime: "x", createdAt: "" },
  version: {
    version: "latest",
    strategy: { concurrency: max, concurrentNum: 1 },
  } as unknown as FunctionVersion,
  alias: "",
});

const config = (name: string, over: Partial<ReservedConfig> = {}): ReservedConfig => ({
  projectId: "p",
  functionId: `id-${name}`,
  qualifier: "latest",
  qualifierType: "version",
  count: 1,
  idleMode: false,
  cronConfigs: [],
  metricConfigs: [],
  updatedAt: 0,
  ...over,
});

function setup(quota = 100) {
  // 2026-11-28T00:00:00Z
  const clock = createManualClock(Date.UTC(2026, 10, 28));
  const applied = new Map<string, number>();
  const live = new Set<string>(["a", "b", "c"]);
  const reserved = createReservedInstances({
    store: memoryStore(),
    invoker: {
      concurrencyQuota: quota,
      setReserved: (t, n) => void applied.set(t.fn.name, n),
    },
    resolve: async (c) => {
      const name = c.functionId.slice(3);
      return live.has(name) ? target(name) : undefined;
    },
    clock,
    logger: silent,
  });
  return { clock, applied, reserved, live };
}

describe("reserved instances", () => {
  it("applies the count, and a cron tactic inside its window, on the fake clock", async () => {
    const { clock, applied, reserved } = setup();
    const start = clock.now() / 1000;
    await reserved.put(
      config("a", {
        count: 1,
        // Every hour on the hour, 5 instances, for the first 3 hours.
        cronConfigs: [
          {
            name: "peak",
            cron: "0 0 * * * *",
            count: 5,
            startTime: start,
            expiredTime: start + 3 * 3600,
          },
        ],
      }),
      target("a"),
    );
    // 00:00:00 itself is a firing inside the window.
    expect(applied.get("a")).toBe(5);
    await clock.advance(3 * 3600 * 1000);
    expect(applied.get("a")).toBe(1);
  });

  it("refuses more than 90 % of the quota in a project, and more than max instances", async () => {
    const { reserved } = setup(10);
    await reserved.put(config("a", { count: 5 }), target("a"));
    const over = await reserved
      .put(config("b", { count: 5 }), target("b"))
      .catch((e: unknown) => e);
    expect(isFsError(over) && over.fss).toBe("FSS.0400");
    await reserved.put(config("b", { count: 4 }), target("b"));
    const aboveMax = await reserved
      .put(config("c", { count: 3 }), target("c", 2))
      .catch((e: unknown) => e);
    expect(isFsError(aboveMax) && aboveMax.fss).toBe("FSS.0400");
  });

  it("frees the quota of a deleted function's setting", async () => {
    const { reserved, live } = setup(10);
    await reserved.put(config("a", { count: 9 }), target("a"));
    live.delete("a");
    await reserved.put(config("b", { count: 9 }), target("b"));
    expect((await reserved.list("p")).map((c) => c.functionId)).toEqual(["id-b"]);
  });

  it("count 0 releases the instances", async () => {
    const { applied, reserved } = setup();
    await reserved.put(config("a", { count: 2 }), target("a"));
    expect(applied.get("a")).toBe(2);
    await reserved.put(config("a", { count: 0 }), target("a"));
    expect(applied.get("a")).toBe(0);
    expect(await reserved.list("p")).toEqual([]);
  });
});
