import fs from "node:fs";
import { FsError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type { CgroupLayout, CgroupVersion } from "./cgroups.js";
import { checkCgroupsWritable, probeCgroupLayout } from "./cgroups.js";
import { run } from "./exec.js";
import type { IsolationTier } from "./types.js";

/** What the machine offers, probed once at start-up (ARCHITECTURE §5). */
export interface IsolationInfo {
  tier: IsolationTier;
  /** Why this tier, for /healthz and the start-up banner. */
  reason: string;
  cgroup: CgroupVersion;
  bwrapPath?: string;
  setprivPath?: string;
  prlimitPath?: string;
  /** bwrap understands `--disable-userns` (0.8+): no nested user namespaces inside. */
  bwrapDisableUserns?: boolean;
  /** /tmp backend for tier A: loop-mounted ext4 image, or tmpfs when loop devices are missing. */
  tmpBackend?: "loop-ext4" | "tmpfs";
  /** Details for the cgroup driver (tier A only). */
  cgroupLayout?: CgroupLayout;
}

export interface DetectOptions {
  forced?: "auto" | IsolationTier;
  logger: Logger;
  /** uid/gid functions run as in tier A (probe drops to them). */
  uid?: number;
  gid?: number;
}

const SEARCH = ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", "/sbin"];

function findBinary(name: string): string | undefined {
  for (const dir of SEARCH) {
    const p = `${dir}/${name}`;
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // Try the next directory.
    }
  }
  return undefined;
}

/**
 * Probe which isolation tier this machine supports. With `forced` set to a tier the machine cannot
 * provide, throws FsError UNAVAILABLE whose message says what is missing.
 */
export async function detectIsolation(opts: DetectOptions): Promise<IsolationInfo> {
  const forced = opts.forced ?? "auto";
  const uid = opts.uid ?? 1003;
  const gid = opts.gid ?? 1003;
  const isRoot = process.getuid?.() === 0;
  const bwrapPath = findBinary("bwrap");
  const setprivPath = findBinary("setpriv");
  const prlimitPath = findBinary("prlimit");
  const layout = probeCgroupLayout();

  if (forced === "C") {
    return {
      tier: "C",
      reason: "forced: plain processes (development only)",
      cgroup: layout.version,
    };
  }

  // bwrap must work the way we launch it: unprivileged, with every namespace.
  let bwrapProblem: string | undefined;
  let disableUserns = false;
  if (!bwrapPath) bwrapProblem = "bubblewrap (bwrap) is not installed";
  else if (isRoot && !setprivPath) bwrapProblem = "setpriv (util-linux) is missing";
  else {
    const drop =
      isRoot && setprivPath
        ? [setprivPath, `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", bwrapPath]
        : [bwrapPath];
    const base = ["--unshare-all", "--unshare-user", "--die-with-parent", "--ro-bind", "/", "/"];
    const tryRun = (extra: string[]) => {
      const [file, ...args] = [...drop, ...base, ...extra, "/bin/true"];
      return run(file ?? "", args, 5000);
    };
    const withFlag = await tryRun(["--disable-userns"]);
    if (withFlag.code === 0) disableUserns = true;
    else {
      const plain = await tryRun([]);
      if (plain.code !== 0) bwrapProblem = `bwrap cannot create namespaces: ${plain.stderr.trim()}`;
    }
  }

  let cgroupProblem: string | undefined;
  if (!isRoot) cgroupProblem = "not running as root";
  else if (layout.version === "none") cgroupProblem = "no usable cgroup controllers";
  else {
    try {
      checkCgroupsWritable(layout);
    } catch (err) {
      cgroupProblem = `cgroups not writable (${(err as Error).message})`;
    }
  }

  const loopOk =
    isRoot &&
    fs.existsSync("/dev/loop-control") &&
    !!findBinary("mkfs.ext4") &&
    !!findBinary("losetup");
  const common = {
    cgroup: layout.version,
    ...(bwrapPath ? { bwrapPath } : {}),
    ...(setprivPath ? { setprivPath } : {}),
    ...(prlimitPath ? { prlimitPath } : {}),
    bwrapDisableUserns: disableUserns,
  };

  const canA = !bwrapProblem && !cgroupProblem;
  const canB = !bwrapProblem;
  if (forced === "A" && !canA) {
    throw new FsError(
      "UNAVAILABLE",
      `isolation tier A was forced but is not available: ${bwrapProblem ?? cgroupProblem}`,
    );
  }
  if (forced === "B" && !canB) {
    throw new FsError(
      "UNAVAILABLE",
      `isolation tier B was forced but is not available: ${bwrapProblem}`,
    );
  }
  let info: IsolationInfo;
  if (canA && forced !== "B") {
    info = {
      ...common,
      tier: "A",
      reason: `root, bwrap, cgroup ${layout.version}${loopOk ? "" : "; /tmp on tmpfs (no loop devices)"}`,
      tmpBackend: loopOk ? "loop-ext4" : "tmpfs",
      cgroupLayout: layout,
    };
  } else if (canB) {
    info = {
      ...common,
      tier: "B",
      reason:
        forced === "B"
          ? "forced: bwrap without cgroups"
          : `bwrap without cgroups: ${cgroupProblem}`,
      tmpBackend: "tmpfs",
    };
  } else {
    info = { ...common, tier: "C", reason: `no sandbox: ${bwrapProblem}` };
  }
  opts.logger.info(
    { isolation: info.tier, reason: info.reason, cgroup: info.cgroup },
    "sandbox tier",
  );
  return info;
}
