import { createHash } from "node:crypto";
import {
  chmod,
  copyFile,
  link,
  lstat,
  mkdir,
  readdir,
  readlink,
  rename,
  rm,
  symlink,
} from "node:fs/promises";
import { join } from "node:path";
import { FsError } from "../core/errors.js";
import { exists, sweepTempDir, tempName } from "./temp-dir.js";

/** One tree of a merged directory: a stable key (e.g. a blob digest) and where it lies unpacked. */
export interface MergeLayer {
  key: string;
  dir: string;
}

export interface MergedDirs {
  /**
   * A directory holding `layers` laid over each other in order (a later layer's entry replaces
   * an earlier one at the same path), built once per ordered list of keys under
   * `<root>/<sha256 of the keys>`. The directory appears under its final name only when complete.
   */
  merged(layers: readonly MergeLayer[]): Promise<string>;
  close(): Promise<void>;
}

/**
 * Merged trees of a function's code and its dependency packages (contract §1.8: dependency
 * files win on a name clash). Regular files are hard-linked from the unpacked layers when they
 * share a file system (copied otherwise): no file is written twice, and the sandbox binds the
 * result read-only, so shared inodes are never modified.
 */
export async function createMergedDirs(opts: { dir: string }): Promise<MergedDirs> {
  const root = opts.dir;
  const tmpRoot = join(root, ".tmp");
  await mkdir(tmpRoot, { recursive: true });
  await sweepTempDir(tmpRoot);
  const inflight = new Map<string, Promise<string>>();
  let closed = false;

  const build = async (final: string, layers: readonly MergeLayer[]): Promise<string> => {
    if (await exists(final)) return final;
    const temp = tempName(tmpRoot, "merge");
    try {
      await mkdir(temp, { mode: 0o755 });
      await chmod(temp, 0o755);
      for (const layer of layers) await overlay(layer.dir, temp);
      await rename(temp, final);
    } catch (err) {
      await rm(temp, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      // Another process sharing the directory finished first: its copy is as good as ours.
      if ((code === "ENOTEMPTY" || code === "EEXIST") && (await exists(final))) return final;
      throw err;
    }
    return final;
  };

  return {
    merged(layers) {
      if (closed) return Promise.reject(new FsError("UNAVAILABLE", "merged dirs are closed"));
      const key = createHash("sha256")
        .update(layers.map((l) => l.key).join("\n"))
        .digest("hex");
      let pending = inflight.get(key);
      if (!pending) {
        pending = build(join(root, key), layers).finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return pending;
    },
    async close() {
      closed = true;
      await Promise.allSettled([...inflight.values()]);
    },
  };
}

/**
 * Lay the tree `src` over `dest`. Works with lstat only and replaces whatever stands in the way
 * (a file where a directory goes, a symlink where a directory goes), so nothing is ever written
 * through a symlink: every directory it descends into is a real one it checked or made.
 */
async function overlay(src: string, dest: string): Promise<void> {
  for (const name of (await readdir(src)).sort()) {
    const from = join(src, name);
    const to = join(dest, name);
    const [s, d] = await Promise.all([lstat(from), lstatOrUndefined(to)]);
    if (s.isDirectory()) {
      if (!d?.isDirectory()) {
        if (d) await rm(to, { recursive: true, force: true });
        await mkdir(to, { mode: 0o755 });
        await chmod(to, 0o755);
      }
      await overlay(from, to);
      continue;
    }
    if (d) await rm(to, { recursive: true, force: true });
    if (s.isSymbolicLink()) await symlink(await readlink(from), to);
    else if (s.isFile()) await linkOrCopy(from, to);
  }
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EXDEV" && code !== "EPERM" && code !== "EMLINK") throw err;
    await copyFile(from, to);
  }
}

async function lstatOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * The code directory of a function version: the unpacked code alone, or, with dependencies,
 * the code merged with each dependency in order (dependency files win on a clash).
 */
export async function codeDirWithDependencies(
  blobs: { unpacked(digest: string): Promise<string> },
  merged: MergedDirs,
  codeDigest: string,
  dependencyDigests: readonly string[],
): Promise<string> {
  const code = await blobs.unpacked(codeDigest);
  if (dependencyDigests.length === 0) return code;
  const layers: MergeLayer[] = [{ key: codeDigest, dir: code }];
  for (const digest of dependencyDigests) {
    layers.push({ key: digest, dir: await blobs.unpacked(digest) });
  }
  return merged.merged(layers);
}
