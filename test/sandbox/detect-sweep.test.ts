import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { createBwrapSandbox } from "../../src/sandbox/bwrap-sandbox.js";
import {
  cgroupName,
  createCgroupDriver,
  probeCgroupLayout,
  joinCgroupsCommand,
} from "../../src/sandbox/cgroups.js";
import { detectIsolation } from "../../src/sandbox/detect.js";
import { createSandbox } from "../../src/sandbox/index.js";
import { createTmpVolumes } from "../../src/sandbox/tmp-volume.js";
import type { Sandbox } from "../../src/sandbox/types.js";
import { canRunTierA, leftoverCgroups, makeTempDir } from "./helpers.js";

const PREFIX = `testd${process.pid}`;

describe.skipIf(!canRunTierA)("isolation detection and start-up sweep", () => {
  const root = makeTempDir("sbx-d");
  afterEach(() => {
    expect(leftoverCgroups(PREFIX)).toEqual([]);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it("detects tier A on a root machine with bwrap and cgroups", async () => {
    const info = await detectIsolation({ forced: "auto", logger: silentLogger });
    expect(info.tier).toBe("A");
    expect(info.cgroup).not.toBe("none");
    expect(info.bwrapPath).toBeDefined();
    expect((await detectIsolation({ forced: "B", logger: silentLogger })).tier).toBe("B");
    expect((await detectIsolation({ forced: "C", logger: silentLogger })).tier).toBe("C");
  });

  it("createSandbox returns the injected plain sandbox for tier C", async () => {
    const plain = { tier: "C" } as unknown as Sandbox;
    const sb = await createSandbox({
      isolation: "C",
      dataDir: root,
      logger: silentLogger,
      createPlain: () => plain,
    });
    expect(sb).toBe(plain);
  });

  it("refuses a launch that was still preparing when close() began, and leaves nothing", async () => {
    const stateDir = path.join(root, "closing");
    const sb = await createBwrapSandbox({
      tier: "A",
      logger: silentLogger,
      stateDir,
      cgroupPrefix: PREFIX,
      tmpPoolCount: 0, // the launch makes its /tmp volume (mkfs, mount): close() starts meanwhile
    });
    const code = makeTempDir("sbx-d-code");
    const launching = sb.launch({
      id: "closing1",
      codeDir: code,
      runtimeDir: code,
      argv: ["/bin/sleep", "1000"],
      env: {},
      memoryMb: 64,
      cpuMillicores: 300,
      tmpMb: 16,
      network: "loopback",
      mounts: [],
    });
    await sb.close();
    await expect(launching).rejects.toThrow(/closed/);
    expect(leftoverCgroups(PREFIX)).toEqual([]);
    expect(fs.readdirSync(path.join(stateDir, "tmp"))).toEqual([]);
    fs.rmSync(code, { recursive: true, force: true });
  });

  it("sweeps the cgroups, processes and /tmp volumes of a killed platform", async () => {
    const layout = probeCgroupLayout();
    const driver = createCgroupDriver(layout);
    const name = cgroupName(PREFIX, "stale1");
    const group = driver.create(name, { memoryMb: 64, pidsMax: 16, cpuMillicores: 1000 });
    // A process left running inside the stale group, detached like an escaped daemon.
    const orphan = spawn(
      "/bin/sh",
      ["-c", `${joinCgroupsCommand(group.procsFiles)} && exec sleep 1000`],
      {
        detached: true,
        stdio: "ignore",
        env: {},
      },
    );
    const orphanExit = new Promise((r) => orphan.once("exit", r));
    for (let i = 0; i < 200 && group.isEmpty(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(group.isEmpty()).toBe(false);

    const stateDir = path.join(root, "state");
    const vols = createTmpVolumes({ stateDir, uid: 1003, gid: 1003, logger: silentLogger });
    const vol = await vols.take(16); // never released: the "platform" dies here
    const volumeMount = path.dirname(vol.hostDir);
    expect(fs.readFileSync("/proc/self/mounts", "utf8")).toContain(volumeMount);
    expect(driver.list(PREFIX)).toEqual([name]);

    const sb = await createBwrapSandbox({
      tier: "A",
      logger: silentLogger,
      stateDir,
      cgroupPrefix: PREFIX,
      tmpPoolCount: 0,
    });
    try {
      await orphanExit;
      expect(leftoverCgroups(PREFIX)).toEqual([]);
      expect(fs.readFileSync("/proc/self/mounts", "utf8")).not.toContain(volumeMount);
      expect(fs.readdirSync(path.join(stateDir, "tmp"))).toEqual([]);
    } finally {
      await sb.close();
    }
  });
});
