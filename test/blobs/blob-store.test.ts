import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createBlobStore, type BlobStore } from "../../src/blobs/index.js";
import { extractZip, zipFromSingleFile } from "../../src/packages/index.js";
import { buildZip, makeTempDir } from "../packages/zip-builder.js";

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  throw new Error("expected a rejection");
}

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let store: BlobStore;
let unpacks: number;

async function open(): Promise<BlobStore> {
  return createBlobStore({
    dir: tmp.dir,
    unpack: async (zip, dest) => {
      unpacks++;
      await extractZip(zip, dest);
    },
  });
}

beforeEach(async () => {
  tmp = await makeTempDir("blobs");
  unpacks = 0;
  store = await open();
});
afterEach(async () => {
  await store.close();
  await tmp.cleanup();
});

describe("blob store: bytes", () => {
  it("stores by SHA-512, idempotently and stably", async () => {
    const bytes = Buffer.from("some package bytes");
    const ref = await store.put(bytes);
    const expected = createHash("sha512").update(bytes).digest("hex");
    expect(ref).toEqual({ digest: expected, size: bytes.length });
    expect(store.path(expected)).toBe(join(tmp.dir, "sha512", expected.slice(0, 2), expected));
    const before = await stat(store.path(expected));
    expect(await store.put(Buffer.from(bytes))).toEqual(ref);
    expect((await stat(store.path(expected))).ino).toBe(before.ino);
    expect((await store.get(expected)).equals(bytes)).toBe(true);
    expect(await store.has(expected)).toBe(true);
    expect(await readdir(join(tmp.dir, "tmp"))).toEqual([]);
  });

  it("reports missing blobs and malformed digests", async () => {
    const missing = "a".repeat(128);
    expect(await store.has(missing)).toBe(false);
    expect(await codeOf(store.get(missing))).toBe("NOT_FOUND");
    expect(await codeOf(store.unpacked(missing))).toBe("NOT_FOUND");
    expect(await codeOf(store.get("../../etc/passwd"))).toBe("INVALID_PARAMETER");
    expect(await codeOf(store.unpacked("A".repeat(128)))).toBe("INVALID_PARAMETER");
    expect(() => store.path("abc")).toThrow();
  });

  it("deletes the blob and its unpacked directory", async () => {
    const { digest } = await store.put(await zipFromSingleFile("index.js", Buffer.from("x")));
    const dir = await store.unpacked(digest);
    await store.delete(digest);
    expect(await store.has(digest)).toBe(false);
    await expect(stat(dir)).rejects.toMatchObject({ code: "ENOENT" });
    await store.delete(digest); // unknown digest: no-op
    expect(await readdir(join(tmp.dir, "tmp"))).toEqual([]);
  });

  it("refuses use after close; close is idempotent", async () => {
    const { digest } = await store.put(Buffer.from("x"));
    await store.close();
    await store.close();
    expect(await codeOf(store.get(digest))).toBe("UNAVAILABLE");
    expect(await codeOf(store.put(Buffer.from("y")))).toBe("UNAVAILABLE");
  });
});

describe("blob store: unpacked", () => {
  it("unpacks once per digest", async () => {
    const zip = await zipFromSingleFile("bootstrap", Buffer.from("#!/bin/sh\n"), 0o755);
    const { digest } = await store.put(zip);
    const dir = await store.unpacked(digest);
    expect(dir).toBe(join(tmp.dir, "unpacked", digest));
    expect(await readFile(join(dir, "bootstrap"), "utf8")).toBe("#!/bin/sh\n");
    expect((await stat(join(dir, "bootstrap"))).mode & 0o777).toBe(0o755);
    const first = await stat(join(dir, "bootstrap"));
    expect(await store.unpacked(digest)).toBe(dir);
    const second = await stat(join(dir, "bootstrap"));
    expect(second.ino).toBe(first.ino);
    expect(second.mtimeMs).toBe(first.mtimeMs);
    expect(unpacks).toBe(1);
    // A new store over the same directory reuses the unpacked copy too.
    const again = await open();
    expect(await again.unpacked(digest)).toBe(dir);
    await again.close();
    expect(unpacks).toBe(1);
  });

  it("shares one unpack between concurrent callers", async () => {
    const { digest } = await store.put(buildZip([{ name: "index.js", data: "x".repeat(100_000) }]));
    const dirs = await Promise.all(Array.from({ length: 8 }, () => store.unpacked(digest)));
    expect(new Set(dirs).size).toBe(1);
    expect(unpacks).toBe(1);
  });

  it("leaves nothing behind when the unpack fails", async () => {
    const { digest } = await store.put(buildZip([{ name: "../evil.js", data: "e" }]));
    expect(await codeOf(store.unpacked(digest))).toBe("INVALID_CODE");
    expect(await readdir(join(tmp.dir, "unpacked"))).toEqual([]);
    expect(await readdir(join(tmp.dir, "tmp"))).toEqual([]);
    // Failures are not cached: a second call tries again (and fails again).
    expect(await codeOf(store.unpacked(digest))).toBe("INVALID_CODE");
    expect(unpacks).toBe(2);
  });

  it("never shows a half-unpacked directory under the final name", async () => {
    const { digest } = await store.put(buildZip([{ name: "index.js", data: "x" }]));
    const final = join(tmp.dir, "unpacked", digest);
    const crashing = await createBlobStore({
      dir: tmp.dir,
      unpack: async (zip, dest) => {
        await extractZip(zip, dest);
        await expect(stat(final)).rejects.toMatchObject({ code: "ENOENT" });
        throw new Error("crash after writing");
      },
    });
    await expect(crashing.unpacked(digest)).rejects.toThrow("crash after writing");
    await crashing.close();
    await expect(stat(final)).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readdir(join(tmp.dir, "tmp"))).toEqual([]);
  });

  it("sweeps temp files of dead processes at start-up", async () => {
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    const live = `unpack-x-p${process.pid}-abc`;
    await mkdir(join(tmp.dir, "tmp", `unpack-x-p${dead}-abc`, "half"), { recursive: true });
    await mkdir(join(tmp.dir, "tmp", live));
    await writeFile(join(tmp.dir, "tmp", "stray"), "x");
    const reopened = await open();
    await reopened.close();
    expect(await readdir(join(tmp.dir, "tmp"))).toEqual([live]);
  });
});
