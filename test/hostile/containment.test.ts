import { existsSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform.js";
import {
  deployEcho,
  deployHostile,
  instanceGroups,
  instancePids,
  invoke,
  startEchoLoop,
  tierOf,
  waitFor,
} from "./helpers.js";

const readOr = (file: string, fallback: string): string => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return fallback;
  }
};

const t = await startTestPlatform();
const tier = await tierOf(t);
afterAll(async () => {
  await t.close();
});

describe.skipIf(tier !== "A")("hostile code through the API (tier A)", () => {
  let loop: ReturnType<typeof startEchoLoop>;
  beforeAll(async () => {
    await deployEcho(t, "echo");
    loop = startEchoLoop(t, "echo");
  });
  afterAll(async () => {
    // Every echo call made while the hostile ones ran came back right.
    const { calls, failures } = await loop.stop();
    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThan(20);
  });

  it("kills the whole tree of a timed-out call, setsid'd children included, right at the deadline", async () => {
    await deployHostile(t, "spin-tree", "spinTree", { timeout: 3 });
    await deployHostile(t, "spin", "spin", { timeout: 3 });
    const [tree, spin] = await Promise.all([invoke(t, "spin-tree", {}), invoke(t, "spin", {})]);
    for (const r of [tree, spin]) {
      expect(r.status).toBe(4010);
      expect(r.r.headers["x-func-err-code"]).toBe("4010");
      expect(r.result).toMatchObject({ errorMessage: "invocation timeout" });
      // duration runs from the handler's start until the tree was gone.
      expect(r.summary.duration).toBeGreaterThanOrEqual(3000);
      expect(r.summary.duration).toBeLessThan(4000);
    }
    // eslint-disable-next-line no-console -- the measured figure goes into the report
    console.log(
      `timeout kill: tree gone ${(tree.summary.duration - 3000).toFixed(1)} ms / ${(spin.summary.duration - 3000).toFixed(1)} ms after the deadline`,
    );
    expect(instancePids(t.dataDir, "spin-tree")).toEqual([]);
    expect(instanceGroups(t.dataDir, "spin-tree")).toEqual([]);
  });

  it("contains a fork bomb with pids.max and ends it at the timeout", async () => {
    // Forks are slow under a CPU quota (600 millicores at 512 MB took 3 s to reach ~600 pids on
    // one 2-core VM): 1024 MB (1000 millicores) and 8 s leave room to reach pids.max.
    await deployHostile(t, "fork-bomb", "forkBomb", { timeout: 8, memory_size: 1024 });
    let settled = false;
    const call = invoke(t, "fork-bomb", {}).finally(() => (settled = true));
    // Watched from the host: the group's pids stay under pids.max and forks fail there.
    let maxPids = 0;
    let forkFailures = 0;
    while (forkFailures === 0 && !settled) {
      const group = instanceGroups(t.dataDir, "fork-bomb").find((d) =>
        existsSync(`${d}/pids.events`),
      );
      if (group) {
        // pids.peak (kernel 6.1+) keeps the high-water mark: the bomb starves this loop, and on
        // a fast machine it reached pids.max and fell back between two samples of pids.current.
        const peak = readOr(`${group}/pids.peak`, readOr(`${group}/pids.current`, "0"));
        maxPids = Math.max(maxPids, Number(peak));
        forkFailures = Number(/^max (\d+)/m.exec(readOr(`${group}/pids.events`, ""))?.[1] ?? 0);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const r = await call;
    expect(r.status).toBe(4010);
    expect(maxPids).toBeLessThanOrEqual(1024);
    expect(maxPids).toBeGreaterThan(500);
    expect(forkFailures).toBeGreaterThan(0);
    expect(instanceGroups(t.dataDir, "fork-bomb")).toEqual([]);
    // The group was empty before the answer; on a loaded machine a few of the thousand tasks can
    // still be inside do_exit (out of cgroup.procs, not yet zombies) and show up in /proc.
    expect(await waitFor(() => instancePids(t.dataDir, "fork-bomb").length === 0, 2000)).toBe(true);
    // eslint-disable-next-line no-console -- the measured figure goes into the report
    console.log(
      `fork bomb: up to ${maxPids} pids, ${forkFailures}+ failed forks; tree gone ${(r.summary.duration - 8000).toFixed(1)} ms after the deadline`,
    );
  });

  it("gives ENOSPC when /tmp (512 MB) is full, and allows more with ephemeral_storage 10240", async () => {
    await deployHostile(t, "fill-tmp", "fillTmp");
    const small = await invoke(t, "fill-tmp", {});
    expect(small.status).toBe(200);
    const s = small.result as { writtenMb: number; code: string };
    expect(s.code).toBe("ENOSPC");
    expect(s.writtenMb).toBeGreaterThan(400);
    expect(s.writtenMb).toBeLessThan(512);
    await deployHostile(t, "fill-big", "fillTmp", { ephemeral_storage: 10240 });
    const big = await invoke(t, "fill-big", { mb: 600 });
    expect(big.status).toBe(200);
    expect(big.result).toEqual({ writtenMb: 600, code: "OK" });
  });

  it("hides /etc/shadow, the data dir, other functions' code and environment; code is read-only", async () => {
    const secret = `s3cr3t-${Math.random().toString(36).slice(2)}`;
    await deployHostile(t, "other-fn", "memory", {
      user_data: JSON.stringify({ OTHER_SECRET: secret }),
    });
    expect((await invoke(t, "other-fn", { mb: 0 })).status).toBe(200); // a live instance with the secret
    await deployHostile(t, "probe-fs", "probeFs");
    const blobs = `${t.dataDir}/blobs`;
    const codeDirs = readdirSync(blobs, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name === "index.js")
      .map((e) => `${e.parentPath}/${e.name}`);
    expect(codeDirs.length).toBeGreaterThan(0);
    const paths = ["/etc/shadow", t.dataDir, `${t.dataDir}/fngraph.db`, blobs, ...codeDirs];
    const r = await invoke(t, "probe-fs", { paths, secret });
    expect(r.status).toBe(200);
    const res = r.result as {
      read: Record<string, string>;
      stat: Record<string, string>;
      writeCode: string;
      secretInEnv: boolean;
      secretInProc: boolean;
      uid: number;
    };
    for (const p of paths) {
      expect(["ENOENT", "EACCES"], p).toContain(res.read[p]);
      expect(["ENOENT", "EACCES"], p).toContain(res.stat[p]);
    }
    expect(res.writeCode).toBe("EROFS");
    expect(res.secretInEnv).toBe(false);
    expect(res.secretInProc).toBe(false);
    expect(res.uid).toBe(1003);
  });

  it("cannot signal the platform nor other instances (ESRCH: own pid namespace)", async () => {
    const victims = instancePids(t.dataDir, "echo");
    expect(victims.length).toBeGreaterThan(0);
    await deployHostile(t, "signal", "signal");
    const r = await invoke(t, "signal", { pids: [process.pid, ...victims] });
    expect(r.status).toBe(200);
    const out = r.result as Record<string, string>;
    for (const pid of [process.pid, ...victims]) expect(out[pid]).toBe("ESRCH");
    expect(victims.every((pid) => instancePids(t.dataDir, "echo").includes(pid))).toBe(true);
  });

  it("caps a stdout flood per invocation and still returns the result", async () => {
    await deployHostile(t, "flood", "flood");
    const r = await invoke(t, "flood", { mb: 20 });
    expect(r.status).toBe(200);
    expect(r.result).toBe("flood done");
    expect(r.log.length).toBeLessThan(8192);
    // The full log (stored per invocation) says it was cut.
    const again = await t.api(
      "POST",
      t.v2("/fgs/functions/flood/invocations"),
      { mb: 20 },
      {
        "X-Cff-Log-Type": "tail",
      },
    );
    expect(again.status).toBe(200);
    expect(again.text).toBe("flood done");
    const tail = Buffer.from(again.headers["x-cff-function-log"] ?? "", "base64").toString();
    expect(tail).toMatch(/log truncated: \d+ more bytes dropped/);
  });

  it("does not let a setsid daemon outlive its instance", async () => {
    await deployHostile(t, "daemon", "daemon");
    const r = await invoke(t, "daemon", {});
    expect(r.status).toBe(200);
    // The runtime and its daemon (sleep) are alive in the instance after the call returned.
    const pids = instancePids(t.dataDir, "daemon");
    expect(pids.length).toBeGreaterThanOrEqual(2);
    // A config update retires the instance; its whole tree must go with it.
    const up = await t.api("PUT", t.v2("/fgs/functions/daemon/config"), { description: "v2" });
    expect(up.status).toBe(200);
    const gone = () =>
      instancePids(t.dataDir, "daemon").length === 0 &&
      instanceGroups(t.dataDir, "daemon").length === 0;
    expect(await waitFor(gone, 5000)).toBe(true);
  });

  it("reaches 127.0.0.1 by default and nothing when disable_public_network is set", async () => {
    const server = net.createServer((s) => s.end("hello from the host\n"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      await deployHostile(t, "net-full", "connect");
      await deployHostile(t, "net-off", "connect", {
        network_controller: { disable_public_network: true },
      });
      const full = await invoke(t, "net-full", { port });
      expect(full.result).toEqual({ data: "hello from the host\n" });
      const off = await invoke(t, "net-off", { port });
      expect(off.status).toBe(200);
      expect(off.result).toEqual({ error: "ECONNREFUSED" });
      const outside = await invoke(t, "net-off", { port, host: "192.0.2.1" });
      expect(["ENETUNREACH", "EHOSTUNREACH"]).toContain(
        (outside.result as { error: string }).error,
      );
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
