import { lstat, readFile, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import yazl from "yazl";
import { FsError } from "../core/errors.js";
import { toEntryPath } from "./entry-path.js";

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/**
 * One fixed timestamp for every entry, built from local-time fields and written as DOS time only
 * (no extended-timestamp field), so the same input zips to the same bytes in any time zone.
 */
function fixedMtime(): Date {
  return new Date(2000, 0, 1, 0, 0, 0);
}

/** A deterministic ZIP holding one file (e.g. inline source as `index.py`), mode 0644 by default. */
export async function zipFromSingleFile(
  fileName: string,
  content: Buffer,
  mode = 0o644,
): Promise<Buffer> {
  const path = toEntryPath(fileName);
  if (path === "") throw new FsError("INVALID_CODE", "A file name is required");
  const zip = new yazl.ZipFile();
  zip.addBuffer(content, path, fileOptions(S_IFREG | (mode & 0o777)));
  return finish(zip);
}

/**
 * A deterministic ZIP of everything under `dir`: entries sorted by name, fixed mtime, regular
 * files keep 0755 vs 0644, directories are stored (so empty ones survive), symlinks are stored
 * as symlinks. Other file types (sockets, FIFOs) cannot be zipped and reject with INVALID_CODE.
 */
export async function zipDirectory(dir: string): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  await addTree(zip, dir, "");
  return finish(zip);
}

async function addTree(zip: yazl.ZipFile, root: string, rel: string): Promise<void> {
  const names = (await readdir(join(root, rel))).sort();
  for (const name of names) {
    const relPath = rel === "" ? name : `${rel}/${name}`;
    const abs = join(root, relPath);
    const stat = await lstat(abs);
    if (stat.isDirectory()) {
      zip.addEmptyDirectory(relPath, {
        mtime: fixedMtime(),
        mode: S_IFDIR | 0o755,
        forceDosTimestamp: true,
      });
      await addTree(zip, root, relPath);
    } else if (stat.isSymbolicLink()) {
      zip.addBuffer(Buffer.from(await readlink(abs)), relPath, fileOptions(S_IFLNK | 0o777));
    } else if (stat.isFile()) {
      const exec = (stat.mode & 0o111) !== 0;
      zip.addBuffer(await readFile(abs), relPath, fileOptions(S_IFREG | (exec ? 0o755 : 0o644)));
    } else {
      throw new FsError("INVALID_CODE", `Cannot zip special file: ${relPath}`);
    }
  }
}

function fileOptions(mode: number): Partial<yazl.Options> {
  return { mtime: fixedMtime(), mode, forceDosTimestamp: true, compress: true };
}

async function finish(zip: yazl.ZipFile): Promise<Buffer> {
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
