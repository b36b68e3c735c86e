import { describe, expect, it } from "vitest";
import {
  MAX_RATIO,
  inspectZip,
  isZip,
  verifyZip,
  zipFromSingleFile,
} from "../../src/packages/index.js";
import { buildZip, emptyZip, zerosZip } from "./zip-builder.js";

/** The `code` an async call rejected with (fails the test if it resolved). */
async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  throw new Error("expected a rejection");
}

describe("inspectZip: happy paths", () => {
  it("lists files, directories, modes and totals", async () => {
    const zip = buildZip([
      { name: "index.js", data: "exports.handler = async () => 1;" },
      { name: "bin/" },
      { name: "bin/bootstrap", data: "#!/bin/sh\n", mode: 0o100755 },
      { name: "lib/util.js", data: "x", method: 0 },
    ]);
    const result = await inspectZip(zip);
    expect(result.fileCount).toBe(3);
    expect(result.totalUncompressed).toBe(32 + 10 + 1);
    expect(result.entries).toEqual([
      { path: "index.js", size: 32, isDir: false, isSymlink: false, mode: 0o644 },
      { path: "bin", size: 0, isDir: true, isSymlink: false, mode: 0o755 },
      { path: "bin/bootstrap", size: 10, isDir: false, isSymlink: false, mode: 0o755 },
      { path: "lib/util.js", size: 1, isDir: false, isSymlink: false, mode: 0o644 },
    ]);
  });

  it("normalises names that stay inside: ./, a/../b, Windows separators", async () => {
    const zip = buildZip([
      { name: "./" },
      { name: "./index.js", data: "a" },
      { name: "a/../b.js", data: "b" },
      { name: "sub\\c.js", data: "c" },
    ]);
    const { entries } = await inspectZip(zip);
    expect(entries.map((e) => e.path)).toEqual(["index.js", "b.js", "sub/c.js"]);
  });

  it("accepts symlinks that resolve inside the root", async () => {
    const zip = buildZip([
      { name: "node_modules/pkg/cli.js", data: "x" },
      { name: "node_modules/.bin/pkg", data: "../pkg/cli.js", mode: 0o120777 },
      { name: "x/b", data: "..", mode: 0o120777 },
    ]);
    const { entries } = await inspectZip(zip);
    expect(entries[1]).toMatchObject({ isSymlink: true, linkTarget: "../pkg/cli.js" });
  });

  it("recognises ZIP magic, including the empty archive's end record", async () => {
    expect(isZip(await zipFromSingleFile("a.txt", Buffer.from("a")))).toBe(true);
    expect(isZip(emptyZip())).toBe(true);
    expect(isZip(Buffer.from("hello world"))).toBe(false);
    expect(isZip(Buffer.alloc(2))).toBe(false);
  });
});

describe("inspectZip: refuses bad archives with INVALID_CODE", () => {
  const good = buildZip([{ name: "index.js", data: "exports.handler = () => 1;".repeat(20) }]);

  it.each([
    ["non-zip bytes", Buffer.from("this is not a zip file at all, just text")],
    ["nothing", Buffer.alloc(0)],
    ["a truncated archive", good.subarray(0, good.length - 30)],
    ["the first half of an archive", good.subarray(0, Math.floor(good.length / 2))],
    ["an empty archive", emptyZip()],
  ])("%s", async (_label, buf) => {
    expect(await codeOf(inspectZip(buf))).toBe("INVALID_CODE");
  });

  it("a corrupt central directory", async () => {
    const bad = Buffer.from(good);
    const cd = bad.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bad.fill(0xff, cd, cd + 20);
    expect(await codeOf(inspectZip(bad))).toBe("INVALID_CODE");
  });

  it.each([
    ["../evil.js"],
    ["a/../../evil.js"],
    ["/etc/x"],
    ["..\\evil.js"],
    ["sub\\..\\..\\evil.js"],
    ["C:/Windows/evil.js"],
    ["evil\0.js"],
  ])("zip-slip name %j", async (name) => {
    const zip = buildZip([
      { name: "index.js", data: "x" },
      { name, data: "evil" },
    ]);
    expect(await codeOf(inspectZip(zip))).toBe("INVALID_CODE");
  });

  it.each([
    ["an absolute target", "link", "/etc/passwd"],
    ["a target climbing out", "a/link", "../../x"],
    ["a target at the root's parent", "link", ".."],
  ])("a symlink with %s", async (_label, name, target) => {
    const zip = buildZip([
      { name: "index.js", data: "x" },
      { name, data: target, mode: 0o120777 },
    ]);
    expect(await codeOf(inspectZip(zip))).toBe("INVALID_CODE");
  });

  it("a symlink that escapes only through another symlink", async () => {
    // Lexically x/b/.. is x, but x/b is a link to the root, so a -> the root's parent.
    const zip = buildZip([
      { name: "x/b", data: "..", mode: 0o120777 },
      { name: "a", data: "x/b/..", mode: 0o120777 },
    ]);
    expect(await codeOf(inspectZip(zip))).toBe("INVALID_CODE");
  });

  it("a symlink loop", async () => {
    const zip = buildZip([
      { name: "a", data: "b/x", mode: 0o120777 },
      { name: "b", data: "a/x", mode: 0o120777 },
    ]);
    expect(await codeOf(inspectZip(zip))).toBe("INVALID_CODE");
  });

  it("a file written under a symlink", async () => {
    const zip = buildZip([
      { name: "d", data: "sub", mode: 0o120777 },
      { name: "d/x.js", data: "x" },
    ]);
    expect(await codeOf(inspectZip(zip))).toBe("INVALID_CODE");
  });

  it("duplicate files, and a path that is both file and directory", async () => {
    const dup = buildZip([
      { name: "index.js", data: "a" },
      { name: "index.js", data: "b" },
    ]);
    const both = buildZip([
      { name: "lib", data: "a" },
      { name: "lib/x.js", data: "b" },
    ]);
    expect(await codeOf(inspectZip(dup))).toBe("INVALID_CODE");
    expect(await codeOf(inspectZip(both))).toBe("INVALID_CODE");
  });

  it("special files (FIFO), encrypted entries, unknown compression", async () => {
    const fifo = buildZip([{ name: "pipe", data: "", mode: 0o010644 }]);
    const encrypted = buildZip([{ name: "a.js", data: "x", flags: 0x801 }]);
    const bzip = buildZip([{ name: "a.js", data: "x", method: 0 }]);
    bzip.writeUInt16LE(12, bzip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 10);
    expect(await codeOf(inspectZip(fifo))).toBe("INVALID_CODE");
    expect(await codeOf(inspectZip(encrypted))).toBe("INVALID_CODE");
    expect(await codeOf(inspectZip(bzip))).toBe("INVALID_CODE");
  });

  it("overlapping entries (two records sharing one local header)", async () => {
    const zip = buildZip([
      { name: "a.js", data: "x".repeat(1000) },
      { name: "b.js", data: "x".repeat(1000), shareDataWith: 0 },
    ]);
    expect(await codeOf(inspectZip(zip))).toBe("INVALID_CODE");
  });

  it("more entries than maxEntries", async () => {
    const zip = buildZip(Array.from({ length: 11 }, (_, i) => ({ name: `f${i}.js`, data: "x" })));
    expect(await codeOf(inspectZip(zip, { maxEntries: 10 }))).toBe("INVALID_CODE");
    expect((await inspectZip(zip, { maxEntries: 11 })).fileCount).toBe(11);
  });

  it("a declared total above maxUnpackedBytes", async () => {
    const zip = buildZip([{ name: "big.bin", data: Buffer.alloc(64 * 1024, 7) }]);
    expect(await codeOf(inspectZip(zip, { maxUnpackedBytes: 64 * 1024 - 1 }))).toBe("INVALID_CODE");
  });

  it("a 200 MB bomb of zeros (compression ratio)", async () => {
    const zip = await zerosZip(200 * 1024 * 1024);
    expect((200 * 1024 * 1024) / zip.length).toBeGreaterThan(MAX_RATIO);
    expect(await codeOf(inspectZip(zip))).toBe("INVALID_CODE");
  });
});

describe("verifyZip: counts the real bytes", () => {
  it("refuses a central directory that under-declares sizes", async () => {
    const zip = buildZip([
      { name: "index.js", data: "x" },
      { name: "liar.bin", data: Buffer.alloc(8 * 1024 * 1024), declaredSize: 1000 },
    ]);
    // The central directory alone looks harmless...
    expect((await inspectZip(zip)).totalUncompressed).toBe(1001);
    // ...the data is not.
    expect(await codeOf(verifyZip(zip))).toBe("INVALID_CODE");
  });

  it("refuses a stream that over-declares sizes", async () => {
    const zip = buildZip([{ name: "short.bin", data: "abc", declaredSize: 10 }]);
    expect(await codeOf(verifyZip(zip))).toBe("INVALID_CODE");
  });

  it("refuses corrupt deflate data", async () => {
    const zip = buildZip([{ name: "a.bin", data: Buffer.alloc(4096, 1) }]);
    const bad = Buffer.from(zip);
    bad.fill(0xff, 30 + 5, 30 + 12);
    expect(await codeOf(verifyZip(bad))).toBe("INVALID_CODE");
  });

  it("passes an honest archive", async () => {
    const zip = buildZip([
      { name: "a.js", data: "x".repeat(5000) },
      { name: "b.js", data: "y", method: 0 },
    ]);
    expect((await verifyZip(zip)).fileCount).toBe(2);
  });
});
