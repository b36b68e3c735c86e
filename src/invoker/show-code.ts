import { promises as fs } from "node:fs";
import path from "node:path";

/**
 * Make the files of `src` appear in the empty directory `dst` (a prewarmed slot's code dir, which
 * its sandbox already shows read-only at the code root): hard links where possible (one inode,
 * no data copied; ~10 µs a file), a copy across file systems. Directories are created with the
 * source's mode; symbolic links are recreated as they are.
 *
 * Chosen over a bind mount of the code dir onto the slot dir: that needs mount propagation set up
 * host-side, a `mount` + `umount` per slot and a sweep of stale mounts after a crash, for a gain
 * only on trees of many thousands of files (docs/scaling.md).
 */
export async function showCode(src: string, dst: string): Promise<number> {
  let files = 0;
  const walk = async (from: string, to: string): Promise<void> => {
    const entries = await fs.readdir(from, { withFileTypes: true });
    await Promise.all(
      entries.map(async (e) => {
        const a = path.join(from, e.name);
        const b = path.join(to, e.name);
        if (e.isDirectory()) {
          const st = await fs.stat(a);
          await fs.mkdir(b, { mode: st.mode & 0o7777 });
          await fs.chmod(b, st.mode & 0o7777);
          await walk(a, b);
        } else if (e.isSymbolicLink()) {
          await fs.symlink(await fs.readlink(a), b);
          files++;
        } else if (e.isFile()) {
          files++;
          try {
            await fs.link(a, b);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code !== "EXDEV" && code !== "EPERM") throw err;
            await fs.copyFile(a, b);
            const st = await fs.stat(a);
            await fs.chmod(b, st.mode & 0o7777);
          }
        }
      }),
    );
  };
  await walk(src, dst);
  return files;
}
