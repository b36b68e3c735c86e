// mount_config.mount_user through the API (tier A): a function runs as its mount user's host
// uid/gid, so what it writes to a func_mounts share is owned by them; without one it runs as 1003.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { deployFunction, startTestPlatform } from "../helpers/platform.js";
import { allPlatformGroups, invoke, tierOf, waitFor } from "./helpers.js";
import { pidsOfUid } from "../helpers/procs.js";

const base = fs.mkdtempSync(path.join(os.tmpdir(), "fngraph-mount-user-"));
fs.chmodSync(base, 0o755);
const root = path.join(base, "allowed");
const share = path.join(root, "share");
fs.mkdirSync(share, { recursive: true });
fs.chmodSync(root, 0o755);
fs.chmodSync(share, 0o777);

const HANDLER = `
const fs = require("fs");
const os = require("os");
exports.handler = async (event) => {
  const out = { uid: process.getuid(), gid: process.getgid(), user: os.userInfo().username };
  fs.writeFileSync("/tmp/probe", "1");
  out.tmp = fs.readFileSync("/tmp/probe", "utf8");
  if (event.file) fs.writeFileSync("/mnt/share/" + event.file, "written");
  return out;
};
`;

// One prewarmed Node.js runtime (uid 1003): a function with a mount user must not take it.
const t = await startTestPlatform({ mountRoots: [root], prewarm: "nodejs:128=1" });
const tier = await tierOf(t);
const dataDir = t.dataDir;

afterAll(async () => {
  await t.close();
  fs.rmSync(base, { recursive: true, force: true });
  // Nothing of any uid is left: no process of the mount users, no group of this platform.
  expect(await waitFor(() => pidsOfUid(2000).length + pidsOfUid(2002).length === 0)).toBe(true);
  expect(allPlatformGroups(dataDir)).toEqual([]);
});

const deploy = async (name: string, mountUser?: { user_id: number; user_group_id: number }) => {
  const mount_config = {
    ...(mountUser ? { mount_user: mountUser } : {}),
    func_mounts: [
      {
        mount_type: "ecs",
        mount_resource: "local-share",
        mount_share_path: share,
        local_mount_path: "/mnt/share",
      },
    ],
  };
  await deployFunction(t, name, "Node.js20.15", { "index.js": HANDLER }, { mount_config });
};

const ownerOf = (file: string): [number, number] => {
  const st = fs.statSync(path.join(share, file));
  return [st.uid, st.gid];
};

describe.skipIf(tier !== "A")("mount_config.mount_user (tier A)", () => {
  it("runs as the mount user: files it writes to its mount are owned by it on the host", async () => {
    await deploy("mu-a", { user_id: 2000, user_group_id: 2001 });
    const call = await invoke(t, "mu-a", { file: "from-a.txt" });
    expect(call.status).toBe(200);
    expect(call.result).toEqual({ uid: 2000, gid: 2001, user: "sandbox", tmp: "1" });
    expect(ownerOf("from-a.txt")).toEqual([2000, 2001]);
    expect(fs.readFileSync(path.join(share, "from-a.txt"), "utf8")).toBe("written");
  });

  it("runs a function without mount_user (or with -1) as 1003", async () => {
    await deploy("mu-default");
    await deploy("mu-minus", { user_id: -1, user_group_id: -1 });
    const d = await invoke(t, "mu-default", { file: "from-default.txt" });
    expect(d.result).toMatchObject({ uid: 1003, gid: 1003 });
    expect(ownerOf("from-default.txt")).toEqual([1003, 1003]);
    const m = await invoke(t, "mu-minus", { file: "from-minus.txt" });
    expect(m.result).toMatchObject({ uid: 1003, gid: 1003 });
  });

  it("never hands a mount-user function a prewarmed runtime (those run as 1003)", async () => {
    const ready = () =>
      (t.api("GET", "/healthz") as Promise<{ json: unknown }>).then(
        (r) => (r.json as { invoker: { prewarm?: { ready: number } } }).invoker.prewarm?.ready ?? 0,
      );
    let n = 0;
    for (let i = 0; i < 250 && (n = await ready()) < 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(n).toBe(1);
    await deploy("mu-prewarm", { user_id: 2000, user_group_id: 2001 });
    const call = await invoke(t, "mu-prewarm", {});
    expect(call.result).toMatchObject({ uid: 2000, gid: 2001 });
    expect((call.summary.timings as unknown as Record<string, number>)["prewarmed"]).toBe(0);
    expect(await ready()).toBe(1);
  });

  it("keeps two functions with different mount users working side by side", async () => {
    await deploy("mu-b", { user_id: 2002, user_group_id: 2003 });
    const calls = await Promise.all(
      [0, 1, 2, 3].flatMap((i) => [
        invoke(t, "mu-a", { file: `a-${i}.txt` }),
        invoke(t, "mu-b", { file: `b-${i}.txt` }),
      ]),
    );
    for (const [i, c] of calls.entries()) {
      expect(c.status).toBe(200);
      expect(c.result).toMatchObject(
        i % 2 === 0 ? { uid: 2000, gid: 2001 } : { uid: 2002, gid: 2003 },
      );
    }
    for (const i of [0, 1, 2, 3]) {
      expect(ownerOf(`a-${i}.txt`)).toEqual([2000, 2001]);
      expect(ownerOf(`b-${i}.txt`)).toEqual([2002, 2003]);
    }
    expect(pidsOfUid(2000).length).toBeGreaterThan(0);
    expect(pidsOfUid(2002).length).toBeGreaterThan(0);
  });

  it("a config update to another mount user takes effect with the next instance", async () => {
    const up = await t.api("PUT", t.v2("/fgs/functions/mu-b/config"), {
      mount_config: {
        mount_user: { user_id: 2004, user_group_id: 2005 },
        func_mounts: [
          {
            mount_type: "ecs",
            mount_resource: "local-share",
            mount_share_path: share,
            local_mount_path: "/mnt/share",
          },
        ],
      },
    });
    expect(up.status).toBe(200);
    const call = await invoke(t, "mu-b", { file: "b-after.txt" });
    expect(call.result).toMatchObject({ uid: 2004, gid: 2005 });
    expect(ownerOf("b-after.txt")).toEqual([2004, 2005]);
    // The retired instance of the old mount user is gone.
    expect(await waitFor(() => pidsOfUid(2002).length === 0)).toBe(true);
  });
});
