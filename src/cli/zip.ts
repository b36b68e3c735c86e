import { lstat, readFile, readdir, readlink, stat } from "node:fs/promises";
import { join } from "node:path";
import yazl from "yazl";
import { CliError } from "./errors.js";

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/** Never shipped: version-control metadata. */
const SKIPPED = new Set([".git", ".hg", ".svn"]);

/**
 * A deterministic ZIP of a function folder: entries sorted by name, one fixed DOS timestamp (no
 * extended-time field, so the time zone does not matter), 0755/0644 kept, symlinks stored as
 * symlinks, VCS folders left out. The same folder always gives the same bytes, so the digest the
 * server reports only changes when the code does.
 */
export async function zipFolder(dir: string): Promise<Buffer> {
  let s;
  try {
    s = await stat(dir);
  } catch {
    throw new CliError(`${dir}: no such folder`);
  }
  if (!s.isDirectory()) throw new CliError(`${dir} is not a folder`);
  const zip = new yazl.ZipFile();
  const count = await addTree(zip, dir, "");
  if (count === 0) throw new CliError(`${dir} holds no files to deploy`);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// Local-time fields: yazl writes DOS time from local fields, so this is the same in any zone.
const MTIME = (): Date => new Date(2000, 0, 1, 0, 0, 0);

function fileOptions(mode: number): Partial<yazl.Options> {
  return { mtime: MTIME(), mode, forceDosTimestamp: true, compress: true };
}

async function addTree(zip: yazl.ZipFile, root: string, rel: string): Promise<number> {
  let count = 0;
  const names = (await readdir(join(root, rel))).sort();
  for (const name of names) {
    if (SKIPPED.has(name)) continue;
    const relPath = rel === "" ? name : `${rel}/${name}`;
    const abs = join(root, relPath);
    const st = await lstat(abs);
    if (st.isDirectory()) {
      zip.addEmptyDirectory(relPath, {
        mtime: MTIME(),
        mode: S_IFDIR | 0o755,
        forceDosTimestamp: true,
      });
      count += await addTree(zip, root, relPath);
    } else if (st.isSymbolicLink()) {
      zip.addBuffer(Buffer.from(await readlink(abs)), relPath, fileOptions(S_IFLNK | 0o777));
      count++;
    } else if (st.isFile()) {
      const exec = (st.mode & 0o111) !== 0;
      zip.addBuffer(await readFile(abs), relPath, fileOptions(S_IFREG | (exec ? 0o755 : 0o644)));
      count++;
    } else {
      throw new CliError(`cannot zip ${relPath}: not a file, folder or symlink`);
    }
  }
  return count;
}
