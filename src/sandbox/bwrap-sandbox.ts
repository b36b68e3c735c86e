import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FsError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import {
  SANDBOX_PATHS,
  buildBwrapArgs,
  checkMountTarget,
  firstUnsearchable,
  rootLayoutArgs,
} from "./bwrap-args.js";
import type { TmpMount } from "./bwrap-args.js";
import type { CgroupLayout, InstanceCgroup } from "./cgroups.js";
import { cgroupName, createCgroupDriver, probeCgroupLayout } from "./cgroups.js";
import { favorDynmods } from "./cgroup-dynmods.js";
import { findLauncher, launcherArgv, shellChainArgv, type LaunchSteps } from "./launcher.js";
import { buildSeccompFilter } from "./seccomp.js";
import { childOf, createSpawner } from "./spawner.js";
import { createStagedEtc } from "./staged-etc.js";
import { createPrivateNetFactory, createPrivateNetPool } from "./private-net.js";
import type { PrivateNet } from "./private-net.js";
import { wrapProcess } from "./sandbox-process.js";
import { createTmpVolumes } from "./tmp-volume.js";
import type { TmpVolume } from "./tmp-volume.js";
import type { Sandbox, SandboxProcess, SandboxSpec } from "./types.js";

export interface BwrapSandboxOptions {
  tier: "A" | "B";
  logger: Logger;
  /** Private state: generated /etc files, the seccomp blob, /tmp images. E.g. `<dataDir>/sandbox`. */
  stateDir: string;
  /** Groups are named `fngraph-<cgroupPrefix>-<instance id>`; keep it stable across restarts. */
  cgroupPrefix: string;
  /** Function uid/gid (numeric; no system user needed). Default 1003. */
  uid?: number;
  gid?: number;
  bwrapPath?: string;
  /** fngraph-launch (launcher.ts); default: the build in `native/`, if any. Null: the shell chain. */
  launcherPath?: string | null;
  /**
   * Launch through the launcher's spawner (`fngraph-launch --serve`, spawner.ts) instead of
   * forking the platform. Default: yes, unless FNGRAPH_SPAWNER=0.
   */
  useSpawner?: boolean;
  setprivPath?: string;
  prlimitPath?: string;
  /** Pass `--disable-userns` (bwrap ≥ 0.8). Default true. */
  disableUserns?: boolean;
  /** Tier A: cgroup layout; probed when omitted. */
  cgroupLayout?: CgroupLayout;
  /** Tier A /tmp backend. Default loop-ext4 (tier B always uses tmpfs). */
  tmpBackend?: "loop-ext4" | "tmpfs";
  /** pids.max per instance (tier A). Default 1024. */
  pidsMax?: number;
  /** RLIMIT_NOFILE inside. Default 1024. */
  nofile?: number;
  /** Tier B RSS polling interval. Default 50 ms. */
  rssPollMs?: number;
  /** Tier A: turn on cgroup2's favordynmods if it is off (cgroup-dynmods.ts). Default true. */
  favorDynmods?: boolean;
  /** Pre-made /tmp volumes kept ready (tier A, loop-ext4). Default 2 of 512 MB. */
  tmpPoolCount?: number;
  tmpPoolSizeMb?: number;
}

/** A bwrap sandbox; `sweepStale()` also runs once inside `createBwrapSandbox`. */
export interface BwrapSandbox extends Sandbox {
  sweepStale(): Promise<{ cgroups: string[]; tmpVolumes: number }>;
}

const MB = 1024 * 1024;

/** Tier A (cgroups + setpriv + bwrap) or tier B (bwrap + rlimits + RSS polling). */
export async function createBwrapSandbox(opts: BwrapSandboxOptions): Promise<BwrapSandbox> {
  const uid = opts.uid ?? 1003;
  const gid = opts.gid ?? 1003;
  const tier = opts.tier;
  const log = opts.logger.child({ component: "sandbox", tier });
  const bwrapPath = opts.bwrapPath ?? "/usr/bin/bwrap";
  const setprivPath = opts.setprivPath ?? "/usr/bin/setpriv";
  const prlimitPath = opts.prlimitPath ?? "/usr/bin/prlimit";
  const launcher =
    opts.launcherPath === undefined ? findLauncher() : (opts.launcherPath ?? undefined);
  // FNGRAPH_SPAWNER=0: every launch forks the platform, as before the spawner.
  const spawner =
    launcher && (opts.useSpawner ?? process.env["FNGRAPH_SPAWNER"] !== "0")
      ? createSpawner(launcher, log.child({ part: "spawner" }))
      : undefined;
  const isRoot = process.getuid?.() === 0;
  const pidsMax = opts.pidsMax ?? 1024;
  const nofile = opts.nofile ?? 1024;
  // Dropping to the function uid before bwrap matters even in tier B: bwrap run by root keeps
  // root's identity inside its user namespace.
  const dropUid = isRoot;

  const stateDir = path.resolve(opts.stateDir);
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o711 });
  fs.chmodSync(stateDir, 0o711);
  const blocked = firstUnsearchable(stateDir, uid, gid);
  if (dropUid && blocked) {
    throw new FsError(
      "INTERNAL",
      `sandbox state dir ${stateDir} is not reachable by uid ${uid}: ${blocked} lacks o+x`,
    );
  }
  // The sandbox's /etc, one directory per ids (another mount user's: made on first use).
  const etc = createStagedEtc({ root: path.join(stateDir, "etc") });
  await etc.dirFor({ uid, gid });
  let warnedNoUser = false;
  const seccomp = buildSeccompFilter();
  const seccompFile = path.join(stateDir, `seccomp-${process.arch}.bpf`);
  if (seccomp) fs.writeFileSync(seccompFile, seccomp, { mode: 0o600 });
  else log.warn({ arch: process.arch }, "no seccomp filter for this architecture");
  const rootArgs = rootLayoutArgs();

  const layout = tier === "A" ? (opts.cgroupLayout ?? probeCgroupLayout()) : undefined;
  const cgroups = layout ? createCgroupDriver(layout) : undefined;
  const dynmods = cgroups
    ? await favorDynmods({
        ...(layout?.v2 ? { mountPoint: layout.v2.dir } : {}),
        enabled: opts.favorDynmods ?? true,
      })
    : undefined;
  if (dynmods?.state === "enabled") {
    log.info({ mountPoint: dynmods.mountPoint }, "cgroup2 remounted with favordynmods");
  } else if (dynmods && dynmods.state !== "on") {
    log.info({ ...dynmods }, "favordynmods is off: each instance start waits ~10 ms for RCU");
  }
  const fastMoves = dynmods?.state === "on" || dynmods?.state === "enabled";
  const useLoop = tier === "A" && (opts.tmpBackend ?? "loop-ext4") === "loop-ext4";
  const volumes = useLoop
    ? createTmpVolumes({
        stateDir,
        uid,
        gid,
        logger: log,
        poolCount: opts.tmpPoolCount ?? 2,
        poolSizeMb: opts.tmpPoolSizeMb ?? 512,
        ...(launcher ? { launcherPath: launcher } : {}),
      })
    : undefined;

  // Network mode "private" (own netns + slirp4netns egress) needs root; otherwise "loopback".
  const privateNet = createPrivateNetFactory();
  const netnsPrefix = `fngraph-${opts.cgroupPrefix}-`;
  const netPool = createPrivateNetPool(privateNet, netnsPrefix, log);
  let warnedNoPrivateNet = false;

  const live = new Set<SandboxProcess>();
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>): void => {
    const t = p.catch((err: unknown) => log.warn({ err }, "sandbox cleanup failed"));
    pending.add(t);
    void t.finally(() => pending.delete(t));
  };
  let closed: Promise<void> | undefined;

  const sweepStale = async (): Promise<{ cgroups: string[]; tmpVolumes: number }> => {
    const swept = cgroups ? await cgroups.sweepStale(opts.cgroupPrefix) : [];
    const tmpVolumes = volumes ? await volumes.sweepStale() : 0;
    const netns = privateNet.available ? await privateNet.sweepStale(netnsPrefix) : 0;
    if (netns > 0) log.warn({ netns }, "removed network namespaces of a previous run");
    if (swept.length > 0 || tmpVolumes > 0) {
      log.warn({ cgroups: swept.length, tmpVolumes }, "removed leftovers of a previous run");
    }
    return { cgroups: swept, tmpVolumes };
  };
  await sweepStale();
  volumes?.warm();

  const launch = async (spec: SandboxSpec): Promise<SandboxProcess> => {
    if (closed) throw new FsError("UNAVAILABLE", "sandbox is closed");
    // mount_user: the ids this instance runs as. Only root can switch to them; without root the
    // function runs as the platform's own user (tier B), and the setting is ignored.
    const ids = { uid: spec.user?.uid ?? uid, gid: spec.user?.gid ?? gid };
    if (!dropUid && (ids.uid !== uid || ids.gid !== gid) && !warnedNoUser) {
      warnedNoUser = true;
      log.warn("mount_user ignored: switching users needs root");
    }
    const runAs = dropUid ? ids : undefined;
    validateSpec(spec, runAs);
    const ilog = log.child({ instanceId: spec.id });
    let cg: InstanceCgroup | undefined;
    let volume: TmpVolume | undefined;
    let seccompFd: number | undefined;
    let pnet: PrivateNet | undefined;
    try {
      if (spec.network === "private") {
        if (privateNet.available) pnet = await netPool.take(ilog);
        else {
          if (!warnedNoPrivateNet) log.warn("no private network (needs root and slirp4netns)");
          warnedNoPrivateNet = true;
          spec = { ...spec, network: "loopback" };
        }
      }
      if (cgroups) {
        const boost = Math.max(spec.cpuMillicores, 1000 * Math.min(2, os.availableParallelism()));
        cg = cgroups.create(cgroupName(opts.cgroupPrefix, spec.id), {
          memoryMb: spec.memoryMb,
          pidsMax,
          cpuMillicores: boost,
        });
      }
      if (volumes) volume = await volumes.take(spec.tmpMb);
      // Images are made owned by the default ids (mkfs root_owner, pooled ahead of time).
      if (volume && runAs && (runAs.uid !== uid || runAs.gid !== gid)) {
        fs.chownSync(volume.hostDir, runAs.uid, runAs.gid);
      }
      const tmp: TmpMount = volume
        ? { kind: "bind", hostDir: volume.hostDir }
        : { kind: "tmpfs", sizeMb: spec.tmpMb };
      const etcDir = await etc.dirFor(runAs ?? { uid, gid });
      const bwrapArgs = buildBwrapArgs(
        {
          spec,
          tmp,
          etcDir,
          ...(runAs ? { ids: runAs } : {}),
          ...(seccomp ? { seccompFd: 4 } : {}),
          disableUserns: opts.disableUserns ?? true,
        },
        rootArgs,
      );
      // What runs before bwrap: join the groups (the runtime is charged from its first page),
      // set the limits, close fds the platform inherited (0-4 are set by stdio below), enter the
      // network namespace, drop to the sandbox ids.
      const steps: LaunchSteps = {
        nofile,
        closeFrom: seccomp ? 5 : 4,
        ...(cg ? { procs: cg.procsFiles } : { dataBytes: (spec.memoryMb + 64) * MB }),
        ...(dropUid ? { ids } : {}),
        ...(dropUid && pnet ? { netns: pnet.path } : {}),
      };
      const program = [bwrapPath, ...bwrapArgs];
      const argv = launcher
        ? launcherArgv(launcher, steps, program)
        : shellChainArgv(steps, program, { setprivPath, prlimitPath });
      // close() may have begun while this launch waited for its network or /tmp volume: it would
      // not see a process spawned now.
      if (closed) throw new FsError("UNAVAILABLE", "sandbox is closed");
      // Through the spawner when it runs (a fork of a small process, spawner.ts), else a fork of
      // the platform (which then opens the seccomp filter for fd 4 itself).
      const remote = launcher
        ? spawner?.launch(argv.slice(1), seccomp ? seccompFile : undefined)
        : undefined;
      if (!remote && seccomp) seccompFd = fs.openSync(seccompFile, "r");
      const child = remote
        ? await remote
        : childOf(
            spawn(argv[0] ?? "", argv.slice(1), {
              env: {},
              stdio: ["ignore", "pipe", "pipe", "pipe", seccompFd ?? "ignore"],
            }),
          );
      if (closed) {
        child.kill("SIGKILL");
        throw new FsError("UNAVAILABLE", "sandbox is closed");
      }
      const rssPollMs = opts.rssPollMs ?? 50;
      const proc = wrapProcess({ spec, child, cg, volume, log: ilog, track, live, rssPollMs });
      if (pnet) {
        const net = pnet;
        void proc.exited.then(() => track(net.release()));
      }
      return proc;
    } catch (err) {
      if (cg) await cg.remove().catch(() => undefined);
      if (volume) await volume.release().catch(() => undefined);
      if (pnet) await pnet.release();
      throw err;
    } finally {
      if (seccompFd !== undefined) fs.closeSync(seccompFd);
    }
  };

  const desc =
    tier === "A"
      ? `tier A: bwrap as uid ${uid} (or the function's mount_user) in cgroup ${layout?.version ?? "?"} groups${fastMoves ? " (favordynmods)" : ""}, seccomp, /tmp ${useLoop ? "ext4 image" : "tmpfs"}`
      : `tier B: bwrap${dropUid ? ` as uid ${uid}` : ""}, RLIMIT_DATA + RSS polling, no cgroups`;
  return {
    tier,
    description: desc,
    paths: () => ({ ...SANDBOX_PATHS }),
    launch,
    sweepStale,
    close: () =>
      (closed ??= (async () => {
        await Promise.all([...live].map((p) => p.kill()));
        while (pending.size > 0) await Promise.all([...pending]);
        await volumes?.close();
        await netPool.close();
        etc.close();
        spawner?.close();
      })()),
  };
}

function validateSpec(spec: SandboxSpec, dropTo: { uid: number; gid: number } | undefined): void {
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(spec.id)) {
    throw new FsError("INTERNAL", `invalid sandbox id ${JSON.stringify(spec.id)}`);
  }
  if (spec.argv.length === 0) throw new FsError("INTERNAL", "empty argv");
  // Never root: mount_user ids are checked at the API too (1..65534), this is the last line.
  for (const id of [spec.user?.uid, spec.user?.gid]) {
    if (id !== undefined && (!Number.isInteger(id) || id < 1 || id > 65534)) {
      throw new FsError("INTERNAL", `invalid sandbox user id ${id}`);
    }
  }
  for (const m of spec.mounts) {
    const problem = checkMountTarget(m.sandboxPath);
    if (problem) throw new FsError("INVALID_MOUNT_PATH", problem);
  }
  if (!dropTo) return;
  for (const p of [spec.codeDir, spec.runtimeDir, ...spec.mounts.map((m) => m.hostPath)]) {
    const blocked = firstUnsearchable(p, dropTo.uid, dropTo.gid);
    if (blocked) {
      throw new FsError("INTERNAL", `${p} is not reachable by uid ${dropTo.uid} (${blocked})`);
    }
  }
}
