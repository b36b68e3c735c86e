import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { toZipLimits, type ZipLimits } from "./limits.js";
import type { ZipInspection } from "./zip-entry.js";
import { scanZip, toZipError } from "./zip-reader.js";

/**
 * List and validate an archive from its central directory, writing nothing. Rejects with
 * `INVALID_CODE` (FSS.1011): not a ZIP or corrupt, empty, too many entries, zip-slip paths,
 * symlinks leaving the root, special files, duplicates, overlapping entries, declared total over
 * `maxUnpackedBytes` or a ratio over `maxRatio`. Declared sizes are not trusted beyond this:
 * `verifyZip` and `extractZip` count the real bytes.
 */
export async function inspectZip(buf: Buffer, limits?: Partial<ZipLimits>): Promise<ZipInspection> {
  const zip = await scanZip(buf, toZipLimits(limits));
  zip.close();
  return {
    entries: zip.entries,
    totalUncompressed: zip.totalUncompressed,
    fileCount: zip.fileCount,
  };
}

/**
 * `inspectZip`, then decompress every entry into nothing, counting real bytes, so an archive
 * whose central directory lies about sizes or whose data is corrupt is refused at intake rather
 * than at first unpack. Costs one full decompression.
 */
export async function verifyZip(buf: Buffer, limits?: Partial<ZipLimits>): Promise<ZipInspection> {
  const resolved = toZipLimits(limits);
  const zip = await scanZip(buf, resolved);
  try {
    const budget = { remaining: resolved.maxUnpackedBytes };
    for (const item of zip.items) {
      if (item.entry.isDir) continue;
      await pipeline(await zip.openData(item, budget), discard());
    }
  } catch (err) {
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

function discard(): Writable {
  return new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });
}
