/**
 * Test helper: write ZIP bytes by hand, so tests can build archives no well-behaved tool would
 * (traversal names, lying sizes, overlapping entries, symlinks out of the root).
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { crc32, deflateRawSync } from "node:zlib";
import yazl from "yazl";

export interface RawEntry {
  name: string | Buffer;
  data?: Buffer | string;
  /** Unix mode including type bits, e.g. 0o100755, 0o120777; default 0o100644 (0o40755 for dirs). */
  mode?: number;
  /** 0 = stored, 8 = deflated (default). */
  method?: 0 | 8;
  /** Uncompressed size written in the central directory (default: the real one). */
  declaredSize?: number;
  /** General purpose flags (default 0x800, UTF-8 names). */
  flags?: number;
  /** Point this entry's central record at another entry's local header (overlap). */
  shareDataWith?: number;
}

const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

export function buildZip(entries: readonly RawEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  const offsets: number[] = [];
  let offset = 0;
  entries.forEach((e) => {
    const name = typeof e.name === "string" ? Buffer.from(e.name) : e.name;
    const isDir = name.at(-1) === 0x2f;
    const data = typeof e.data === "string" ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
    const method = e.method ?? 8;
    const body = method === 8 ? deflateRawSync(data) : data;
    const crc = crc32(data);
    const flags = e.flags ?? 0x800;
    const mode = e.mode ?? (isDir ? 0o40755 : 0o100644);
    const common = Buffer.concat([
      u16(20),
      u16(flags),
      u16(method),
      u16(0),
      u16(0x21),
      u32(crc),
      u32(body.length),
    ]);
    offsets.push(offset);
    const local = Buffer.concat([
      u32(0x04034b50),
      common,
      u32(data.length),
      u16(name.length),
      u16(0),
      name,
      body,
    ]);
    const localOffset = e.shareDataWith === undefined ? offset : (offsets[e.shareDataWith] ?? 0);
    if (e.shareDataWith === undefined) {
      locals.push(local);
      offset += local.length;
    }
    centrals.push(
      Buffer.concat([
        u32(0x02014b50),
        u16((3 << 8) | 20),
        common,
        u32(e.declaredSize ?? data.length),
        u16(name.length),
        u16(0),
        u16(0),
        u16(0),
        u16(0),
        u32(((mode << 16) >>> 0) | (isDir ? 0x10 : 0)),
        u32(localOffset),
        name,
      ]),
    );
  });
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.concat([
    u32(0x06054b50),
    u16(0),
    u16(0),
    u16(entries.length),
    u16(entries.length),
    u32(cd.length),
    u32(offset),
    u16(0),
  ]);
  return Buffer.concat([...locals, cd, eocd]);
}

/** An empty but well-formed archive (end record only). */
export function emptyZip(): Buffer {
  return buildZip([]);
}

/** `size` zero bytes, deflated by yazl from a stream: a small archive that unpacks huge. */
export async function zerosZip(size: number, name = "zeros.bin"): Promise<Buffer> {
  const chunk = Buffer.alloc(1024 * 1024);
  let left = size;
  const source = new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
  const zip = new yazl.ZipFile();
  zip.addReadStream(source, name, { size });
  zip.end();
  const out: Buffer[] = [];
  for await (const c of zip.outputStream) out.push(c as Buffer);
  return Buffer.concat(out);
}

/** A temp dir under os.tmpdir(), with its cleanup. */
export async function makeTempDir(
  prefix: string,
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `fngraph-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Names in `dir` (empty array when it holds nothing). */
export function listDir(dir: string): Promise<string[]> {
  return readdir(dir);
}
