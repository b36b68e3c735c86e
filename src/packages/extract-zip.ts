import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, mkdir, rename, rm, symlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { FsError } from "../core/errors.js";
import { toZipLimits, type ZipLimits } from "./limits.js";
import type { ZipInspection } from "./zip-entry.js";
import { scanZip, toZipError, type ScannedZip } from "./zip-reader.js";

const DIR_MODE = 0o755;

/**
 * Unpack `buf` into `destDir`, which must not exist yet (or be an empty directory). Everything
 * is written into a sibling temp dir (`.<name>.partial-p<pid>-<random>`), then renamed into place,
 * so `destDir` is either complete or absent; on any error the temp dir is removed.
 *
 * - Every check of `inspectZip` runs first; while streaming, real bytes are counted per entry
 *   (never more than declared) and in total (never more than `maxUnpackedBytes`).
 * - Directories are 0755, files 0644, or 0755 when any exec bit was set in the archive (so a
 *   `bootstrap` stays runnable); modes are set explicitly, whatever the umask.
 * - Symlinks are created as stored, only after every file is written (nothing is ever written
 *   through a link) and only if, following every link of the archive, they stay inside the root.
 *
 * Rejects with `INVALID_CODE` for a bad archive and `CONFLICT` if `destDir` is a non-empty dir.
 */
export async function extractZip(
  buf: Buffer,
  destDir: string,
  limits?: Partial<ZipLimits>,
): Promise<ZipInspection> {
  const resolved = toZipLimits(limits);
  const zip = await scanZip(buf, resolved);
  const temp = join(
    dirname(destDir),
    `.${basename(destDir)}.partial-p${process.pid}-${randomBytes(6).toString("hex")}`,
  );
  try {
    await mkdir(temp, { mode: DIR_MODE });
    await chmod(temp, DIR_MODE);
    await writeAll(zip, temp, resolved.maxUnpackedBytes);
    await moveIntoPlace(temp, destDir);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw toZipError(err);
  } finally {
    zip.close();
  }
  return {
    entries: zip.entries,
    totalUncompressed: zip.totalUncompressed,
    fileCount: zip.fileCount,
  };
}

async function writeAll(zip: ScannedZip, root: string, maxBytes: number): Promise<void> {
  const made = new Set<string>([""]);
  const ensureDir = async (rel: string): Promise<void> => {
    if (made.has(rel)) return;
    await ensureDir(parentOf(rel));
    await mkdir(join(root, rel), { mode: DIR_MODE });
    await chmod(join(root, rel), DIR_MODE);
    made.add(rel);
  };
  const budget = { remaining: maxBytes };
  for (const item of zip.items) {
    const { entry } = item;
    if (entry.isDir) {
      await ensureDir(entry.path);
      continue;
    }
    if (entry.isSymlink) continue;
    await ensureDir(parentOf(entry.path));
    const file = join(root, entry.path);
    await pipeline(
      await zip.openData(item, budget),
      createWriteStream(file, { flags: "wx", mode: entry.mode }),
    );
    await chmod(file, entry.mode);
  }
  for (const { entry } of zip.items) {
    if (entry.linkTarget === undefined) continue;
    await ensureDir(parentOf(entry.path));
    await symlink(entry.linkTarget, join(root, entry.path));
  }
}

function parentOf(rel: string): string {
  const cut = rel.lastIndexOf("/");
  return cut < 0 ? "" : rel.slice(0, cut);
}

async function moveIntoPlace(temp: string, destDir: string): Promise<void> {
  try {
    await rename(temp, destDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR") {
      throw new FsError("CONFLICT", `Unpack destination already exists: ${destDir}`, {
        cause: err,
      });
    }
    throw err;
  }
}
