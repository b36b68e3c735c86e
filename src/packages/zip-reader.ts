import { Transform, type Readable } from "node:stream";
import yauzl from "yauzl";
import { FsError, isFsError } from "../core/errors.js";
import { toEntryPath, symlinkStaysInside } from "./entry-path.js";
import { MAX_PATH_BYTES, type ZipLimits } from "./limits.js";
import type { ZipEntry, ZipInspection } from "./zip-entry.js";

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const MSDOS_DIRECTORY = 0x10;
const PLATFORM_UNIX = 3;
const LOCAL_HEADER_MIN = 30;
const STORED = 0;
const DEFLATED = 8;

/** An inspected entry together with the yauzl entry it came from, for streaming its data. */
export interface ScannedEntry {
  entry: ZipEntry;
  raw: yauzl.Entry;
}

/** An open archive whose central directory passed every check. Call `close()` when done. */
export interface ScannedZip extends ZipInspection {
  items: ScannedEntry[];
  /** Stream one entry's real bytes, counted against `budget` (never trusting declared sizes). */
  openData(item: ScannedEntry, budget: ByteBudget): Promise<Readable>;
  close(): void;
}

/** Real decompressed bytes still allowed for the whole archive. */
export interface ByteBudget {
  remaining: number;
}

/**
 * Open `buf` and validate its central directory: readable ZIP, not empty, entry count, safe paths,
 * no special files, no conflicting or overlapping entries, symlinks that stay inside, declared
 * total and ratio under the limits. Symlink targets are read (they are entry data).
 */
export async function scanZip(buf: Buffer, limits: ZipLimits): Promise<ScannedZip> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromBufferPromise(buf, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      validateEntrySizes: true,
    });
  } catch (err) {
    throw new FsError("INVALID_CODE", `Not a ZIP archive or corrupt: ${messageOf(err)}`, {
      cause: err,
    });
  }
  try {
    return await scanOpen(zip, buf, limits);
  } catch (err) {
    zip.close();
    throw toZipError(err);
  }
}

async function scanOpen(zip: yauzl.ZipFile, buf: Buffer, limits: ZipLimits): Promise<ScannedZip> {
  if (zip.entryCount === 0) throw new FsError("INVALID_CODE", "The ZIP archive is empty");
  if (zip.entryCount > limits.maxEntries) {
    throw new FsError(
      "INVALID_CODE",
      `The ZIP archive has ${zip.entryCount} entries; at most ${limits.maxEntries} are allowed`,
    );
  }
  const items: ScannedEntry[] = [];
  const raws: yauzl.Entry[] = [];
  let total = 0;
  for await (const raw of zip.eachEntry()) {
    raws.push(raw);
    total += raw.uncompressedSize;
    const item = describe(raw);
    if (item) items.push(item);
  }
  checkTotals(total, buf.length, limits);
  checkLayout(raws, buf.length);
  const openData = (item: ScannedEntry, budget: ByteBudget): Promise<Readable> =>
    openCounted(zip, item.raw, budget);
  await readLinkTargets(items, openData, { remaining: limits.maxUnpackedBytes });
  checkTree(items);
  return {
    items,
    entries: items.map((i) => i.entry),
    totalUncompressed: total,
    fileCount: items.filter((i) => !i.entry.isDir).length,
    openData,
    close: () => zip.close(),
  };
}

/** Classify one raw entry; `undefined` for a directory entry naming the root itself. */
function describe(raw: yauzl.Entry): ScannedEntry | undefined {
  const rawName = yauzl.getFileNameLowLevel(
    raw.generalPurposeBitFlag,
    raw.fileNameRaw,
    raw.extraFields,
    true,
  );
  if (raw.isEncrypted()) throw new FsError("INVALID_CODE", `Encrypted ZIP entry: ${rawName}`);
  if (raw.compressionMethod !== STORED && raw.compressionMethod !== DEFLATED) {
    throw new FsError(
      "INVALID_CODE",
      `Unsupported compression method ${raw.compressionMethod} for ZIP entry: ${rawName}`,
    );
  }
  const unixMode =
    raw.versionMadeBy >> 8 === PLATFORM_UNIX ? (raw.externalFileAttributes >>> 16) & 0xffff : 0;
  const type = unixMode & S_IFMT;
  const isDir =
    /[/\\]$/.test(rawName) ||
    type === S_IFDIR ||
    (type === 0 && (raw.externalFileAttributes & MSDOS_DIRECTORY) !== 0);
  const isSymlink = !isDir && type === S_IFLNK;
  if (!isDir && type !== 0 && type !== S_IFREG && type !== S_IFLNK) {
    throw new FsError("INVALID_CODE", `Special file (device, FIFO or socket) in ZIP: ${rawName}`);
  }
  const path = toEntryPath(rawName);
  if (path === "") {
    if (isDir) return undefined;
    throw new FsError("INVALID_CODE", `ZIP entry without a file name: ${JSON.stringify(rawName)}`);
  }
  if (isSymlink && raw.uncompressedSize > MAX_PATH_BYTES) {
    throw new FsError("INVALID_CODE", `Symlink target too long in ZIP entry: ${path}`);
  }
  const executable = (unixMode & 0o111) !== 0;
  return {
    raw,
    entry: {
      path,
      size: isDir ? 0 : raw.uncompressedSize,
      isDir,
      isSymlink,
      mode: isSymlink ? 0o777 : isDir || executable ? 0o755 : 0o644,
    },
  };
}

function checkTotals(total: number, archiveBytes: number, limits: ZipLimits): void {
  if (total > limits.maxUnpackedBytes) {
    throw new FsError(
      "INVALID_CODE",
      `The ZIP archive unpacks to ${total} bytes; at most ${limits.maxUnpackedBytes} are allowed`,
    );
  }
  if (total > limits.ratioMinUnpackedBytes && total / archiveBytes > limits.maxRatio) {
    throw new FsError(
      "INVALID_CODE",
      `The ZIP archive's compression ratio exceeds ${limits.maxRatio}:1 (zip bomb)`,
    );
  }
}

/** Entries whose data overlap (the "better zip bomb") or run past the end of the buffer. */
function checkLayout(raws: readonly yauzl.Entry[], archiveBytes: number): void {
  const sorted = [...raws].sort(
    (a, b) => a.relativeOffsetOfLocalHeader - b.relativeOffsetOfLocalHeader,
  );
  for (let i = 0; i < sorted.length; i++) {
    const cur = sorted[i] as yauzl.Entry;
    const end = cur.relativeOffsetOfLocalHeader + LOCAL_HEADER_MIN + cur.compressedSize;
    const next = sorted[i + 1];
    const limit = next ? next.relativeOffsetOfLocalHeader : archiveBytes;
    if (end > limit) {
      throw new FsError(
        "INVALID_CODE",
        next ? "The ZIP archive has overlapping entries" : "The ZIP archive is truncated",
      );
    }
  }
}

async function readLinkTargets(
  items: readonly ScannedEntry[],
  openData: ScannedZip["openData"],
  budget: ByteBudget,
): Promise<void> {
  for (const item of items) {
    if (!item.entry.isSymlink) continue;
    const chunks: Buffer[] = [];
    for await (const chunk of await openData(item, budget)) chunks.push(chunk as Buffer);
    item.entry.linkTarget = Buffer.concat(chunks).toString("utf8");
  }
}

/** Duplicates, a path that is both a file and a directory, entries under a symlink, escapes. */
function checkTree(items: readonly ScannedEntry[]): void {
  const kinds = new Map<string, "dir" | "file" | "link">();
  const links = new Map<string, string>();
  for (const { entry } of items) {
    const kind = entry.isDir ? "dir" : entry.isSymlink ? "link" : "file";
    const seen = kinds.get(entry.path);
    if (seen !== undefined && (seen !== "dir" || kind !== "dir")) {
      throw new FsError("INVALID_CODE", `Duplicate entry in ZIP: ${entry.path}`);
    }
    kinds.set(entry.path, kind);
    if (entry.linkTarget !== undefined) links.set(entry.path, entry.linkTarget);
  }
  for (const { entry } of items) {
    const parts = entry.path.split("/");
    for (let n = 1; n < parts.length; n++) {
      const ancestor = parts.slice(0, n).join("/");
      const kind = kinds.get(ancestor);
      if (kind === "file" || kind === "link") {
        throw new FsError(
          "INVALID_CODE",
          `ZIP entry ${entry.path} lies under ${ancestor}, which is not a directory`,
        );
      }
    }
    if (
      entry.linkTarget !== undefined &&
      !symlinkStaysInside(entry.path, entry.linkTarget, links)
    ) {
      throw new FsError(
        "INVALID_CODE",
        `Symlink in ZIP points outside the archive (zip-slip): ${entry.path} -> ${entry.linkTarget}`,
      );
    }
  }
}

async function openCounted(
  zip: yauzl.ZipFile,
  raw: yauzl.Entry,
  budget: ByteBudget,
): Promise<Readable> {
  const source = await zip.openReadStreamPromise(raw);
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      budget.remaining -= chunk.length;
      if (seen > raw.uncompressedSize || budget.remaining < 0) {
        done(
          new FsError(
            "INVALID_CODE",
            "ZIP entry data is larger than declared or than the unpack limit (zip bomb)",
          ),
        );
        return;
      }
      done(null, chunk);
    },
  });
  source.on("error", (err) => counter.destroy(toZipError(err)));
  counter.on("close", () => source.destroy());
  return source.pipe(counter);
}

/** yauzl and zlib failures mean a corrupt or lying archive; our own errors pass through. */
export function toZipError(err: unknown): Error {
  if (isFsError(err)) return err;
  if (err instanceof Error && "syscall" in err) {
    // The file system refusing a name the archive chose is the archive's fault, not ours.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENAMETOOLONG" && code !== "EILSEQ") return err;
  }
  return new FsError("INVALID_CODE", `Corrupt ZIP archive: ${messageOf(err)}`, { cause: err });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
