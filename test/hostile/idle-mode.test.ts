// Reserved instances with idle_mode through the API (tier A, real cgroup freezer): the reserved
// instance is frozen while idle, thawed for a call (warm), frozen again after; a frozen instance
// can still be killed, replaced and retired. Metric tactics are validated at the API.
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { deployFunction, startTestPlatform } from "../helpers/platform.js";
import { instanceGroups, instancePids, invoke, tierOf, waitFor } from "./helpers.js";

const HANDLER = `
let calls = 0;
exports.handler = async () => ({ calls: ++calls, pid: process.pid });
`;

const t = await startTestPlatform();
const tier = await tierOf(t);
const dataDir = t.dataDir;
afterAll(async () => {
  await t.close();
  expect(await waitFor(() => instancePids(dataDir, "idle-").length === 0)).toBe(true);
});

const deploy = async (name: string) => {
  await deployFunction(t, name, "Node.js20.15", { "index.js": HANDLER });
};

const reserve = (name: string, body: unknown) =>
  t.api("PUT", t.v2(`/fgs/functions/${name}/reservedinstances`), body);

/** The kernel's view: every instance group of `name` frozen (true), none (false), or mixed. */
function frozenState(name: string): boolean | "mixed" | "none" {
  const states: boolean[] = [];
  for (const dir of instanceGroups(dataDir, name)) {
    const events = path.join(dir, "cgroup.events");
    const state = path.join(dir, "freezer.state");
    // Only cgroup2 groups (hybrid: the unified one; v2: the only one) have cgroup.events.
    if (fs.existsSync(events)) {
      states.push(/^frozen 1$/m.test(fs.readFileSync(events, "utf8")));
    } else if (fs.existsSync(state)) {
      states.push(fs.readFileSync(state, "utf8").startsWith("FROZEN"));
    }
  }
  if (states.length === 0) return "none";
  return states.every((s) => s) ? true : states.some((s) => s) ? "mixed" : false;
}

describe("metric_configs validation", () => {
  it.each([
    ["threshold 0", { name: "m", type: "Concurrency", threshold: 0, min: 1 }],
    ["threshold 101", { name: "m", type: "Concurrency", threshold: 101, min: 1 }],
    ["threshold 12.5", { name: "m", type: "Concurrency", threshold: 12.5, min: 1 }],
    ["type Memory", { name: "m", type: "Memory", threshold: 50, min: 1 }],
    ["min 1001", { name: "m", type: "Concurrency", threshold: 50, min: 1001 }],
    ["an empty name", { name: "", type: "Concurrency", threshold: 50, min: 1 }],
  ])("refuses %s with 400 FSS.0400", async (_what, m) => {
    await deploy("idle-validate");
    const r = await reserve("idle-validate", { count: 0, tactics_config: { metric_configs: [m] } });
    expect(r.status).toBe(400);
    expect((r.json as { error_code: string }).error_code).toBe("FSS.0400");
    await t.api("DELETE", t.v2("/fgs/functions/idle-validate"));
  });
});

describe.skipIf(tier !== "A")("idle_mode (tier A, cgroup freezer)", () => {
  it("freezes the idle reserved instance, thaws it for a warm call, freezes it again", async () => {
    await deploy("idle-on");
    const put = await reserve("idle-on", { count: 1, idle_mode: true });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ count: 1, idle_mode: true });
    expect(await waitFor(() => frozenState("idle-on") === true, 15_000)).toBe(true);
    const pids = instancePids(dataDir, "idle-on");
    expect(pids.length).toBeGreaterThan(0);

    const first = await invoke(t, "idle-on", {});
    expect(first.status).toBe(200);
    expect(first.summary.coldStart).toBe(false);
    expect(first.result).toMatchObject({ calls: 1 });
    expect(await waitFor(() => frozenState("idle-on") === true)).toBe(true);
    // The same instance answers the next call (its state survived the freeze).
    const second = await invoke(t, "idle-on", {});
    expect(second.result).toMatchObject({ calls: 2 });
    expect(second.summary.coldStart).toBe(false);
    expect(instancePids(dataDir, "idle-on").sort()).toEqual(pids.sort());
    expect(await waitFor(() => frozenState("idle-on") === true)).toBe(true);
  });

  it("replaces a frozen reserved instance killed with SIGKILL; the new one is frozen", async () => {
    const before = instancePids(dataDir, "idle-on");
    expect(frozenState("idle-on")).toBe(true);
    for (const pid of before) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    const replaced = () => {
      const now = instancePids(dataDir, "idle-on");
      return now.length > 0 && now.every((p) => !before.includes(p));
    };
    expect(await waitFor(replaced, 15_000)).toBe(true);
    expect(await waitFor(() => frozenState("idle-on") === true, 15_000)).toBe(true);
    const r = await invoke(t, "idle-on", {});
    expect(r.status).toBe(200);
    expect(r.result).toMatchObject({ calls: 1 });
  });

  it("retires a frozen instance on a config change: its processes and groups go", async () => {
    // The previous test's call ended just now: the instance is frozen again right after it.
    expect(await waitFor(() => frozenState("idle-on") === true)).toBe(true);
    const old = instancePids(dataDir, "idle-on");
    const up = await t.api("PUT", t.v2("/fgs/functions/idle-on/config"), { timeout: 5 });
    expect(up.status).toBe(200);
    // The old revision's instance stops (the new revision's starts on its first call).
    expect(
      await waitFor(() => instancePids(dataDir, "idle-on").every((p) => !old.includes(p)), 10_000),
    ).toBe(true);
    const r = await invoke(t, "idle-on", {});
    expect(r.status).toBe(200);
    const release = await reserve("idle-on", { count: 0 });
    expect(release.status).toBe(200);
  });

  it("freezes nothing without idle_mode", async () => {
    await deploy("idle-off");
    expect((await reserve("idle-off", { count: 1, idle_mode: false })).status).toBe(200);
    expect(await waitFor(() => instancePids(dataDir, "idle-off").length > 0, 15_000)).toBe(true);
    const r = await invoke(t, "idle-off", {});
    expect(r.summary.coldStart).toBe(false);
    expect(frozenState("idle-off")).toBe(false);
    expect((await reserve("idle-off", { count: 0 })).status).toBe(200);
  });
});
