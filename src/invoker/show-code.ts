import fs, { promises as fsp } from "node:fs";
import path from "node:path";

/** Trees up to this many entries are linked synchronously: faster than the fs thread pool. */
const SYNC_ENTRIES = 512;

/**
 * Make the files of `src` appear in the empty directory `dst` (a prewarmed slot's code dir, which
 * its sandbox already shows read-only at the code root): hard links where possible (one inode,
 * no data copied; ~10–20 µs a file), a copy across file systems. Directories are created with
 * the source's mode; symbolic links are recreated as they are. Returns the number of entries.
 *
 * Chosen over a bind mount of the code dir onto the slot dir: that needs mount propagation set up
 * host-side, a `mount` + `umount` per slot and a sweep of stale mounts after a crash, for a gain
 * only on trees of many thousands of files (docs/scaling.md).
 */
export async function showCode(src: string, dst: string): Promise<number> {
  const entries = fs.readdirSync(src, { withFileTypes: true, recursive: true });
  // Parents before children: sort by depth.
  const items = entries
    .map((e) => path.relative(src, path.join(e.parentPath, e.name)))
    .map((rel, i) => ({ rel, e: entries[i]!, depth: rel.split(path.sep).length }))
    .sort((a, b) => a.depth - b.depth);
  if (items.length <= SYNC_ENTRIES) {
    for (const { rel, e } of items) linkSync(path.join(src, rel), path.join(dst, rel), e);
    return items.length;
  }
  // Large trees: directories first (in order), then files in parallel batches.
  for (const { rel, e } of items)
    if (e.isDirectory()) linkSync(path.join(src, rel), path.join(dst, rel), e);
  const files = items.filter((i) => !i.e.isDirectory());
  for (let i = 0; i < files.length; i += 64) {
    await Promise.all(
      files
        .slice(i, i + 64)
        .map(({ rel, e }) => linkAsync(path.join(src, rel), path.join(dst, rel), e)),
    );
  }
  return items.length;
}

function linkSync(a: string, b: string, e: fs.Dirent): void {
  if (e.isDirectory()) {
    const mode = fs.statSync(a).mode & 0o7777;
    fs.mkdirSync(b, { mode });
    fs.chmodSync(b, mode);
  } else if (e.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(a), b);
  } else if (e.isFile()) {
    try {
      fs.linkSync(a, b);
    } catch (err) {
      if (!crossDevice(err)) throw err;
      fs.copyFileSync(a, b);
      fs.chmodSync(b, fs.statSync(a).mode & 0o7777);
    }
  }
}

async function linkAsync(a: string, b: string, e: fs.Dirent): Promise<void> {
  if (e.isSymbolicLink()) {
    await fsp.symlink(await fsp.readlink(a), b);
  } else if (e.isFile()) {
    try {
      await fsp.link(a, b);
    } catch (err) {
      if (!crossDevice(err)) throw err;
      await fsp.copyFile(a, b);
      await fsp.chmod(b, (await fsp.stat(a)).mode & 0o7777);
    }
  }
}

const crossDevice = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "EXDEV" || code === "EPERM";
};
