import { createHash } from "node:crypto";
import path from "node:path";
import type { Logger } from "../core/logger.js";
import { createBwrapSandbox } from "./bwrap-sandbox.js";
import { detectIsolation } from "./detect.js";
import type { Sandbox } from "./types.js";

export type { IsolationInfo } from "./detect.js";
export { detectIsolation } from "./detect.js";
export { createBwrapSandbox } from "./bwrap-sandbox.js";
export type { BwrapSandbox, BwrapSandboxOptions } from "./bwrap-sandbox.js";
export { cpuMillicoresFor } from "./cgroups.js";
export type * from "./types.js";

export interface CreateSandboxOptions {
  isolation: "auto" | "A" | "B" | "C";
  /** Platform data dir; sandbox state lives in `<dataDir>/sandbox`. */
  dataDir: string;
  logger: Logger;
  /** Factory of the tier C (plain process) sandbox. */
  createPlain: () => Sandbox;
  /** Turn on cgroup2's favordynmods at start-up (tier A). Default true. */
  favorDynmods?: boolean;
  /** Function uid/gid. Default 1003. */
  uid?: number;
  gid?: number;
}

/**
 * Detect the isolation tier (or check a forced one), sweep leftovers of a previous run and return
 * the sandbox. The cgroup prefix is derived from the data dir, so a restarted platform finds its
 * own leftovers and two platforms with different data dirs never sweep each other's.
 */
export async function createSandbox(opts: CreateSandboxOptions): Promise<Sandbox> {
  const uid = opts.uid ?? 1003;
  const gid = opts.gid ?? 1003;
  const info = await detectIsolation({ forced: opts.isolation, logger: opts.logger, uid, gid });
  if (info.tier === "C") {
    opts.logger.warn("sandbox tier C: plain processes, NO isolation (development only)");
    return opts.createPlain();
  }
  const dataDir = path.resolve(opts.dataDir);
  const prefix = createHash("sha256").update(dataDir).digest("hex").slice(0, 8);
  return createBwrapSandbox({
    tier: info.tier,
    logger: opts.logger,
    stateDir: path.join(dataDir, "sandbox"),
    cgroupPrefix: prefix,
    uid,
    gid,
    ...(info.bwrapPath ? { bwrapPath: info.bwrapPath } : {}),
    ...(info.setprivPath ? { setprivPath: info.setprivPath } : {}),
    ...(info.prlimitPath ? { prlimitPath: info.prlimitPath } : {}),
    disableUserns: info.bwrapDisableUserns ?? false,
    ...(opts.favorDynmods !== undefined ? { favorDynmods: opts.favorDynmods } : {}),
    ...(info.cgroupLayout ? { cgroupLayout: info.cgroupLayout } : {}),
    ...(info.tmpBackend ? { tmpBackend: info.tmpBackend } : {}),
  });
}
