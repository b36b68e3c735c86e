import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config.js";
import { createBody, fixtureFiles, startTestPlatform } from "../helpers/platform.js";
import { invoke, tierOf } from "./helpers.js";

// Host side: an allowed root with a share in it, and a directory outside every root.
const base = fs.mkdtempSync(path.join(os.tmpdir(), "fngraph-mounts-"));
fs.chmodSync(base, 0o755);
const root = path.join(base, "allowed");
const share = path.join(root, "team-a");
const other = path.join(root, "team-b");
const outside = path.join(base, "outside");
for (const d of [root, share, other, outside]) fs.mkdirSync(d, { mode: 0o755 });
// Writable by the function user (uid 1003 in tiers A/B).
for (const d of [share, other]) fs.chmodSync(d, 0o777);
fs.writeFileSync(path.join(share, "hello.txt"), "hello from the host");
fs.symlinkSync(outside, path.join(root, "escape"));

const t = await startTestPlatform({ mountRoots: [root] });
const tier = await tierOf(t);
afterAll(async () => {
  await t.close();
  fs.rmSync(base, { recursive: true, force: true });
});

const mount = (sharePath: string, local: string) => ({
  mount_type: "ecs",
  mount_resource: "local-share",
  mount_share_path: sharePath,
  local_mount_path: local,
});

const create = async (name: string, extra: Record<string, unknown>) =>
  t.api(
    "POST",
    t.v2("/fgs/functions"),
    await createBody(name, "Node.js20.15", fixtureFiles("hostile-node"), {
      handler: "index.useMount",
      ...extra,
    }),
  );
const errorCode = (json: unknown): string => (json as { error_code: string }).error_code;

describe("mount_config.func_mounts validation", () => {
  it("takes FNGRAPH_MOUNT_ROOTS as a colon-separated list", () => {
    const c = loadConfig({}, { FNGRAPH_MOUNT_ROOTS: "/srv/a:/srv/b" });
    expect(c.mountRoots).toEqual(["/srv/a", "/srv/b"]);
  });

  it.each([
    ["/opt/data", "not under /mnt"],
    ["/mnt", "/mnt itself"],
    ["/mnt/../etc", "traversal"],
    ["mnt/data", "relative"],
    ["/mnt/a b", "odd characters"],
  ])("refuses local_mount_path %s (%s) with FSS.1039", async (local) => {
    const r = await create("m-bad-local", { mount_config: { func_mounts: [mount(share, local)] } });
    expect(r.status).toBe(400);
    expect(errorCode(r.json)).toBe("FSS.1039");
  });

  it("refuses two mounts on the same or nested paths with FSS.1039", async () => {
    const r = await create("m-nested", {
      mount_config: { func_mounts: [mount(share, "/mnt/a"), mount(other, "/mnt/a/b")] },
    });
    expect(r.status).toBe(400);
    expect(errorCode(r.json)).toBe("FSS.1039");
  });

  it.each([
    ["outside every allowed root", outside],
    ["missing", path.join(root, "nope")],
    ["a symlink leading out of the root", path.join(root, "escape")],
    ["a file, not a directory", path.join(share, "hello.txt")],
    ["a relative path", "team-a"],
    ["/etc", "/etc"],
  ])("refuses a share path %s with FSS.1050", async (_what, sharePath) => {
    const r = await create("m-bad-share", {
      mount_config: { func_mounts: [mount(sharePath, "/mnt/data")] },
    });
    expect(r.status).toBe(404);
    expect(errorCode(r.json)).toBe("FSS.1050");
  });

  it("refuses more than 5 mounts with FSS.1049", async () => {
    const mounts = [1, 2, 3, 4, 5, 6].map((i) => mount(share, `/mnt/m${i}`));
    const r = await create("m-six", { mount_config: { func_mounts: mounts } });
    expect(r.status).toBe(403);
    expect(errorCode(r.json)).toBe("FSS.1049");
  });

  it("refuses mount_user id 0 with FSS.1075 and a non-boolean disable_public_network", async () => {
    const r = await create("m-root", {
      mount_config: { mount_user: { user_id: 0, user_group_id: -1 }, func_mounts: [] },
    });
    expect(r.status).toBe(400);
    expect(errorCode(r.json)).toBe("FSS.1075");
    const n = await create("m-net", { network_controller: { disable_public_network: "yes" } });
    expect(n.status).toBe(400);
    expect(errorCode(n.json)).toBe("FSS.0400");
  });

  it("checks mounts on a config update too", async () => {
    const ok = await create("m-update", {});
    expect(ok.status).toBe(200);
    const r = await t.api("PUT", t.v2("/fgs/functions/m-update/config"), {
      mount_config: { func_mounts: [mount(outside, "/mnt/data")] },
    });
    expect(r.status).toBe(404);
    expect(errorCode(r.json)).toBe("FSS.1050");
  });
});

describe.skipIf(tier !== "A")("mounts inside the sandbox (tier A)", () => {
  it("binds an allowed host directory read-write at local_mount_path", async () => {
    const r = await create("m-ok", {
      mount_config: {
        mount_user: { user_id: -1, user_group_id: -1 },
        func_mounts: [mount(share, "/mnt/data")],
      },
    });
    expect(r.status).toBe(200);
    const got = await t.api("GET", t.v2("/fgs/functions/m-ok/config"));
    expect((got.json as { mount_config: unknown }).mount_config).toMatchObject({
      func_mounts: [{ local_mount_path: "/mnt/data", mount_share_path: share }],
    });
    const call = await invoke(t, "m-ok", { dir: "/mnt/data" });
    expect(call.status).toBe(200);
    expect(call.result).toMatchObject({ text: "hello from the host", write: "OK" });
    const written = path.join(share, "from-function.txt");
    expect(fs.readFileSync(written, "utf8")).toBe("written");
    expect(fs.statSync(written).uid).toBe(1003);
    // The rest of the root is not visible, only the share.
    const sibling = await invoke(t, "m-ok", { dir: "/mnt/team-b" });
    expect(sibling.result).toMatchObject({ list: "ENOENT" });
  });

  it("applies a mount added by a config update to the next instance", async () => {
    const r = await create("m-later", {});
    expect(r.status).toBe(200);
    const before = await invoke(t, "m-later", { dir: "/mnt/later" });
    expect(before.result).toMatchObject({ list: "ENOENT" });
    const up = await t.api("PUT", t.v2("/fgs/functions/m-later/config"), {
      mount_config: { func_mounts: [mount(share, "/mnt/later")] },
    });
    expect(up.status).toBe(200);
    const after = await invoke(t, "m-later", { dir: "/mnt/later" });
    expect(after.result).toMatchObject({ text: "hello from the host" });
  });

  it("fails the cold start (4201) when the host directory went away", async () => {
    const gone = path.join(root, "temporary");
    fs.mkdirSync(gone, { mode: 0o755 });
    const r = await create("m-gone", { mount_config: { func_mounts: [mount(gone, "/mnt/x")] } });
    expect(r.status).toBe(200);
    fs.rmdirSync(gone);
    const call = await invoke(t, "m-gone", { dir: "/mnt/x" });
    expect(call.status).toBe(4201);
  });
});
