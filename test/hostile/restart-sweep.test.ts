import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { detectIsolation } from "../../src/sandbox/index.js";
import { call, createBody, getToken, NODE_ECHO } from "../helpers/platform.js";
import { allPlatformGroups, mountsUnder, waitFor } from "./helpers.js";

const root = path.resolve(import.meta.dirname, "..", "..");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "fngraph-sweep-"));
const tmpVolumes = path.join(dataDir, "sandbox", "tmp");
const children: ChildProcess[] = [];
const silent = pino({ level: "silent" });
const tier = (
  await detectIsolation({ forced: "auto", logger: silent, uid: 1003, gid: 1003 }).catch(() => ({
    tier: "C",
  }))
).tier;

interface Creds {
  endpoint: string;
  project_id: string;
  user: string;
  password: string;
  domain_name: string;
  region: string;
}

/** `fngraph serve` as a real process (tsx, from source) on port 0, tier A. */
async function startServer(): Promise<{ child: ChildProcess; creds: Creds }> {
  const credFile = path.join(dataDir, "credentials.json");
  fs.rmSync(credFile, { force: true });
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(root, "src", "entry.ts"),
      "serve",
      "--port",
      "0",
      "--gateway-port",
      "0",
      "--data-dir",
      dataDir,
      "--isolation",
      "A",
      "--log-level",
      "warn",
    ],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FNGRAPH_HOST: "127.0.0.1" },
    },
  );
  children.push(child);
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`server exited early (${code}): ${out}`));
    child.once("exit", onExit);
    const check = setInterval(() => {
      if (out.includes("fngraph is running")) {
        clearInterval(check);
        child.off("exit", onExit);
        resolve();
      }
    }, 20);
  });
  return { child, creds: JSON.parse(fs.readFileSync(credFile, "utf8")) as Creds };
}

const exitOf = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await Promise.all(children.map(exitOf));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe.skipIf(tier !== "A")("start-up sweep after a platform was killed (tier A)", () => {
  it("removes the cgroups and /tmp loop mounts a kill -9'd platform left", async () => {
    const first = await startServer();
    const c = first.creds;
    const h = {
      "X-Auth-Token": await getToken(c.endpoint, c.user, c.password, c.domain_name, c.region),
    };
    const fns = `/v2/${c.project_id}/fgs/functions`;
    const created = await call(
      c.endpoint,
      "POST",
      fns,
      await createBody("sweep-echo", "Node.js20.15", NODE_ECHO),
      h,
    );
    expect(created.status).toBe(200);
    const inv = await call(c.endpoint, "POST", `${fns}/sweep-echo/invocations`, { n: 1 }, h);
    expect(inv.status).toBe(200);
    const oldGroups = allPlatformGroups(dataDir);
    expect(oldGroups.some((g) => g.includes("sweep-echo"))).toBe(true);
    const oldMounts = mountsUnder(tmpVolumes);
    expect(oldMounts.length).toBeGreaterThan(0);

    first.child.kill("SIGKILL");
    await exitOf(first.child);
    // --die-with-parent took the instances; their (now empty) groups and the mounts stay behind.
    expect(allPlatformGroups(dataDir).length).toBeGreaterThan(0);
    expect(mountsUnder(tmpVolumes).length).toBeGreaterThan(0);

    const second = await startServer();
    const leftGroups = allPlatformGroups(dataDir).filter((g) => oldGroups.includes(g));
    expect(leftGroups).toEqual([]);
    const leftMounts = mountsUnder(tmpVolumes).filter((m) => oldMounts.includes(m));
    expect(leftMounts).toEqual([]);
    const oldImages = fs
      .readdirSync(tmpVolumes)
      .filter((e) => e.startsWith(`v${first.child.pid}-`));
    expect(oldImages).toEqual([]);

    // The new platform works, and a clean stop leaves nothing at all.
    const c2 = second.creds;
    const h2 = {
      "X-Auth-Token": await getToken(c2.endpoint, c2.user, c2.password, c2.domain_name, c2.region),
    };
    const again = await call(c2.endpoint, "POST", `${fns}/sweep-echo/invocations`, { n: 2 }, h2);
    expect((again.json as { event: unknown }).event).toEqual({ n: 2 });
    second.child.kill("SIGTERM");
    await exitOf(second.child);
    expect(second.child.exitCode).toBe(0);
    expect(await waitFor(() => allPlatformGroups(dataDir).length === 0, 3000)).toBe(true);
    expect(mountsUnder(tmpVolumes)).toEqual([]);
  }, 60_000);
});
