import fs from "node:fs";
import path from "node:path";
import { FsError } from "../core/errors.js";
import type { SandboxMount, SandboxUser } from "../sandbox/types.js";

/** At most this many `func_mounts` per function (contract §5). */
export const MAX_MOUNTS = 5;

/** `mount_type` values accepted; all mean "a host directory" here (docs/sandbox.md, Mounts). */
const MOUNT_TYPES = ["sfs", "sfsTurbo", "ecs", "local"];

const SAFE_PATH = /^\/mnt(\/[A-Za-z0-9_.-]+)+$/;

/**
 * Check `mount_config` (contract §1.2) against the operator-allowed host roots and return the
 * bind mounts it asks for. `mount_share_path` names the host directory: an absolute path that,
 * symlinks resolved, is one of `roots` or lies inside one. `local_mount_path` is where the
 * function sees it: a path below `/mnt/`. Mounts are read-write.
 *
 * Throws FsError: INVALID_MOUNT_PATH (FSS.1039) for a bad or clashing local path,
 * MOUNT_RESOURCE_NOT_FOUND (FSS.1050) when the host directory is missing or not allowed (one
 * code for both, so the API cannot probe the host), MOUNT_QUOTA (FSS.1049) above 5 mounts,
 * MOUNT_USER_INVALID (FSS.1075) for bad ids, INVALID_PARAMETER for a malformed object.
 */
export function resolveMounts(mountConfig: unknown, roots: readonly string[]): SandboxMount[] {
  if (mountConfig === undefined || mountConfig === null) return [];
  if (!isObject(mountConfig)) throw bad("mount_config must be an object");
  checkMountUser(mountConfig["mount_user"]);
  const list = mountConfig["func_mounts"];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw bad("mount_config.func_mounts must be an array");
  if (list.length > MAX_MOUNTS) {
    throw new FsError("MOUNT_QUOTA", `at most ${MAX_MOUNTS} mounts per function`);
  }
  const realRoots = roots.flatMap((r) => {
    try {
      return [fs.realpathSync(r)];
    } catch {
      return [];
    }
  });
  const out: SandboxMount[] = [];
  list.forEach((m: unknown, i) => {
    const field = `mount_config.func_mounts[${i}]`;
    if (!isObject(m)) throw bad(`${field} must be an object`);
    const type = m["mount_type"];
    if (type !== undefined && (typeof type !== "string" || !MOUNT_TYPES.includes(type))) {
      throw bad(`${field}.mount_type must be one of ${MOUNT_TYPES.join(", ")}`);
    }
    const local = m["local_mount_path"];
    if (typeof local !== "string" || !SAFE_PATH.test(local) || local.split("/").includes("..")) {
      throw new FsError(
        "INVALID_MOUNT_PATH",
        `${field}.local_mount_path must be a path below /mnt/ (letters, digits, '_', '.', '-')`,
      );
    }
    const sandboxPath = path.posix.normalize(local);
    for (const prev of out) {
      const [a, b] = [prev.sandboxPath + "/", sandboxPath + "/"];
      if (a.startsWith(b) || b.startsWith(a)) {
        throw new FsError(
          "INVALID_MOUNT_PATH",
          `${field}.local_mount_path ${local} clashes with ${prev.sandboxPath}`,
        );
      }
    }
    out.push({
      hostPath: hostDir(m["mount_share_path"], realRoots, field),
      sandboxPath,
      readOnly: false,
    });
  });
  return out;
}

function hostDir(share: unknown, realRoots: string[], field: string): string {
  const missing = new FsError(
    "MOUNT_RESOURCE_NOT_FOUND",
    `${field}.mount_share_path must name an existing host directory the operator allowed (mountRoots)`,
  );
  if (typeof share !== "string" || !path.isAbsolute(share) || share.includes("\0")) throw missing;
  let real: string;
  try {
    real = fs.realpathSync(share);
    if (!fs.statSync(real).isDirectory()) throw missing;
  } catch {
    throw missing;
  }
  const allowed = realRoots.some(
    (root) => real === root || real.startsWith(root === path.sep ? root : root + path.sep),
  );
  if (!allowed) throw missing;
  return real;
}

/**
 * `mount_config.mount_user` as the ids the function runs as (FunctionGraph's mount user owns what
 * the function writes to its mounts): each id other than −1 replaces the default (1003). Undefined
 * when neither does. Throws like `resolveMounts` for bad ids.
 */
export function resolveMountUser(mountConfig: unknown): SandboxUser | undefined {
  if (!isObject(mountConfig)) return undefined;
  const user = mountConfig["mount_user"];
  checkMountUser(user);
  if (!isObject(user)) return undefined;
  const out: SandboxUser = {};
  const [uid, gid] = [user["user_id"], user["user_group_id"]];
  if (typeof uid === "number" && uid !== -1) out.uid = uid;
  if (typeof gid === "number" && gid !== -1) out.gid = gid;
  return out.uid === undefined && out.gid === undefined ? undefined : out;
}

function checkMountUser(user: unknown): void {
  if (user === undefined || user === null) return;
  if (!isObject(user)) throw bad("mount_config.mount_user must be an object");
  for (const key of ["user_id", "user_group_id"]) {
    const id = user[key];
    if (id === undefined) continue;
    if (typeof id !== "number" || !Number.isInteger(id) || id < -1 || id > 65534 || id === 0) {
      throw new FsError(
        "MOUNT_USER_INVALID",
        `mount_config.mount_user.${key} must be an integer from -1 to 65534, not 0`,
      );
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function bad(message: string): FsError {
  return new FsError("INVALID_PARAMETER", message);
}

/** `network_controller.disable_public_network`; anything else in the object is echoed only. */
export function parseNetworkController(raw: unknown): { disablePublicNetwork: boolean } {
  if (raw === undefined || raw === null) return { disablePublicNetwork: false };
  if (!isObject(raw)) throw bad("network_controller must be an object");
  const flag = raw["disable_public_network"];
  if (flag !== undefined && flag !== null && typeof flag !== "boolean") {
    throw bad("network_controller.disable_public_network must be a boolean");
  }
  return { disablePublicNetwork: flag === true };
}
