// mount_config.mount_user in tier A: the sandbox runs an instance as the given host uid/gid
// (setpriv before bwrap, the same ids inside the user namespace, /etc/passwd naming them), and
// idle mode's freeze/thaw through the cgroup freezer. Real bwrap and cgroups (root only).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { createBwrapSandbox } from "../../src/sandbox/bwrap-sandbox.js";
import {
  createCgroupDriver,
  probeCgroupLayout,
  joinCgroupsCommand,
} from "../../src/sandbox/cgroups.js";
import type { BwrapSandbox } from "../../src/sandbox/bwrap-sandbox.js";
import type { SandboxProcess, SandboxSpec } from "../../src/sandbox/types.js";
import {
  canRunTierA,
  cgroupDir,
  firstMessage,
  leftoverCgroups,
  makeSpec,
  makeTempDir,
  nodeArgv,
} from "./helpers.js";
import { pidsOfUid, waitFor } from "../helpers/procs.js";

const PREFIX = `testu${process.pid}`;

/** Whether the kernel reports the instance's group frozen (v2/hybrid cgroup.events, v1 state). */
function groupFrozen(p: SandboxProcess): boolean {
  const name = `fngraph-${PREFIX}-${p.id}`;
  const events = path.join(cgroupDir("unified", name), "cgroup.events");
  if (fs.existsSync(events)) return /^frozen 1$/m.test(fs.readFileSync(events, "utf8"));
  const state = path.join("/sys/fs/cgroup/freezer", name, "freezer.state");
  return fs.readFileSync(state, "utf8").startsWith("FROZEN");
}

describe.skipIf(!canRunTierA)("tier A: mount user and freezer", () => {
  let root: string;
  let dirs: { codeDir: string; runtimeDir: string };
  let share: string;
  let sb: BwrapSandbox;
  const procs: SandboxProcess[] = [];

  const launch = async (argv: string[], over: Partial<SandboxSpec> = {}) => {
    const p = await sb.launch(makeSpec(dirs, argv, over));
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    root = makeTempDir("sbx-u");
    dirs = { codeDir: path.join(root, "code"), runtimeDir: path.join(root, "runtime") };
    fs.mkdirSync(dirs.codeDir);
    fs.mkdirSync(dirs.runtimeDir);
    fs.writeFileSync(path.join(dirs.codeDir, "index.js"), "exports.handler = () => 1;\n");
    share = path.join(root, "share");
    fs.mkdirSync(share);
    fs.chmodSync(share, 0o777);
    sb = await createBwrapSandbox({
      tier: "A",
      logger: silentLogger,
      stateDir: path.join(root, "data", "sandbox"),
      cgroupPrefix: PREFIX,
      tmpPoolCount: 1,
      tmpPoolSizeMb: 64,
    });
  });

  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.kill()));
    expect(leftoverCgroups(PREFIX)).toEqual([]);
    // 2100/2101 here, 2000-2003 in test/hostile/mount-user.test.ts: the files run in parallel.
    // An empty cgroup is the kernel's word that the tree is dead, but a task leaves its group
    // (cgroup_exit) a moment before it becomes a zombie, so /proc may still list it as running
    // for that moment (seen once in CI): wait for it, bounded.
    expect(await waitFor(() => pidsOfUid(2100).length === 0, 2000)).toBe(true);
  });

  afterAll(async () => {
    await sb?.close();
    expect(leftoverCgroups(PREFIX)).toEqual([]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  const whoAmI = nodeArgv(`
    const fs = require('fs'); const os = require('os');
    const tryDo = (f) => { try { f(); return 'ok'; } catch (e) { return e.code; } };
    await report({
      uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(),
      user: os.userInfo().username,
      group: fs.readFileSync('/etc/group', 'utf8'),
      writeTmp: tryDo(() => fs.writeFileSync('/tmp/x', '1')),
      tmpOwner: fs.statSync('/tmp').uid + ':' + fs.statSync('/tmp').gid,
      writeMount: tryDo(() => fs.writeFileSync('/mnt/share/by-' + process.getuid(), 'x')),
    });
  `);

  it("runs as the spec's uid/gid: inside, on the host, in /tmp and on a mount", async () => {
    const mounts = [{ hostPath: share, sandboxPath: "/mnt/share", readOnly: false }];
    const p = await launch(whoAmI, { mounts, user: { uid: 2100, gid: 2101 } });
    const m = await firstMessage<Record<string, unknown>>(p);
    expect(m).toMatchObject({ uid: 2100, gid: 2101, user: "sandbox", writeTmp: "ok" });
    expect(m.tmpOwner).toBe("2100:2101");
    expect(m.group).toContain("sandbox:x:2101:");
    expect(m.writeMount).toBe("ok");
    const st = fs.statSync(path.join(share, "by-2100"));
    expect([st.uid, st.gid]).toEqual([2100, 2101]);
    expect(pidsOfUid(2100).length).toBeGreaterThan(0);
    // Without a user: the default 1003, side by side with the other one.
    const d = await launch(whoAmI, { mounts });
    const dm = await firstMessage<Record<string, unknown>>(d);
    expect(dm).toMatchObject({ uid: 1003, gid: 1003, user: "sandbox", tmpOwner: "1003:1003" });
    expect(fs.statSync(path.join(share, "by-1003")).uid).toBe(1003);
  });

  it("falls back to the default for an id left out, and refuses uid 0", async () => {
    const p = await launch(whoAmI, { user: { uid: 2100 } });
    await expect(firstMessage(p)).resolves.toMatchObject({ uid: 2100, gid: 1003 });
    await expect(sb.launch(makeSpec(dirs, whoAmI, { user: { uid: 0 } }))).rejects.toMatchObject({
      code: "INTERNAL",
    });
  });

  it("freezes and thaws the whole tree; a frozen tree can be killed", async () => {
    const p = await launch(
      nodeArgv(`
        __ch.setEncoding('utf8');
        __ch.on('data', (d) => report({ echo: d.trim(), at: Date.now() }));
        await report({ ready: true });
        setInterval(() => {}, 1000);
      `),
      { user: { uid: 2100, gid: 2101 } },
    );
    await firstMessage(p);
    p.freeze();
    expect(await waitFor(() => groupFrozen(p))).toBe(true);
    // A frozen task does not read its channel: the message waits until the thaw.
    let answered = false;
    p.channel.on("data", () => (answered = true));
    p.channel.write("ping\n");
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    p.thaw();
    expect(groupFrozen(p)).toBe(false);
    expect(await waitFor(() => answered)).toBe(true);
    p.freeze();
    expect(await waitFor(() => groupFrozen(p))).toBe(true);
    await p.kill();
    await expect(p.exited).resolves.toBeDefined();
  });
});

describe.skipIf(!canRunTierA || !fs.existsSync("/sys/fs/cgroup/freezer"))(
  "v1 freezer (a v1-only layout on this machine's v1 controllers)",
  () => {
    it("freezes with FROZEN, thaws with THAWED, and killAll kills a frozen group", async () => {
      const base = probeCgroupLayout();
      const v1 = base.v1;
      if (!v1?.freezer) throw new Error("no v1 freezer");
      const driver = createCgroupDriver({ version: "v1", v1 });
      const name = `fngraph-${PREFIX}-v1freeze`;
      const group = driver.create(name, { memoryMb: 64, pidsMax: 64, cpuMillicores: 500 });
      const child = spawn(
        "/bin/sh",
        ["-c", `${joinCgroupsCommand(group.procsFiles)} && exec sleep 1000`],
        {
          stdio: "ignore",
        },
      );
      const exited = new Promise((r) => child.once("exit", (_c, sig) => r(sig)));
      try {
        const state = path.join(v1.freezer, name, "freezer.state");
        expect(await waitFor(() => !group.isEmpty())).toBe(true);
        expect(group.freeze()).toBe(true);
        expect(await waitFor(() => fs.readFileSync(state, "utf8").startsWith("FROZEN"))).toBe(true);
        group.thaw();
        expect(fs.readFileSync(state, "utf8").trim()).toBe("THAWED");
        group.freeze();
        expect(await waitFor(() => fs.readFileSync(state, "utf8").startsWith("FROZEN"))).toBe(true);
        await group.killAll();
        await expect(exited).resolves.toBe("SIGKILL");
      } finally {
        child.kill("SIGKILL");
        await group.remove();
      }
      expect(leftoverCgroups(PREFIX)).toEqual([]);
    });
  },
);
