import {
  chmod,
  lstat,
  mkdir,
  readFile,
  readlink,
  readdir,
  stat,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { extractZip, zipDirectory } from "../../src/packages/index.js";
import { buildZip, makeTempDir, zerosZip } from "./zip-builder.js";

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  throw new Error("expected a rejection");
}

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeEach(async () => {
  tmp = await makeTempDir("extract");
});
afterEach(async () => {
  await tmp.cleanup();
});

describe("extractZip: happy paths", () => {
  it("unpacks files, directories and safe symlinks with normalised modes", async () => {
    const zip = buildZip([
      { name: "index.js", data: "exports.handler = async () => 1;" },
      { name: "bootstrap", data: "#!/bin/sh\necho hi\n", mode: 0o100700 },
      { name: "empty/" },
      { name: "lib/deep/util.js", data: "u", method: 0 },
      { name: "lib/link.js", data: "deep/util.js", mode: 0o120777 },
      { name: "secret.txt", data: "s", mode: 0o100600 },
    ]);
    const dest = join(tmp.dir, "code");
    const result = await extractZip(zip, dest);
    expect(result.fileCount).toBe(5);
    expect(await readFile(join(dest, "index.js"), "utf8")).toContain("handler");
    expect((await stat(join(dest, "bootstrap"))).mode & 0o777).toBe(0o755);
    expect((await stat(join(dest, "index.js"))).mode & 0o777).toBe(0o644);
    expect((await stat(join(dest, "secret.txt"))).mode & 0o777).toBe(0o644);
    expect((await stat(join(dest, "empty"))).mode & 0o777).toBe(0o755);
    expect((await stat(join(dest, "lib/deep"))).mode & 0o777).toBe(0o755);
    expect((await stat(dest)).mode & 0o777).toBe(0o755);
    expect((await lstat(join(dest, "lib/link.js"))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(dest, "lib/link.js"))).toBe("deep/util.js");
    expect(await readFile(join(dest, "lib/link.js"), "utf8")).toBe("u");
    // Nothing but the destination is left next to it.
    expect(await readdir(tmp.dir)).toEqual(["code"]);
  });

  it("sets modes explicitly, whatever the umask", async () => {
    const old = process.umask(0o077);
    try {
      const zip = buildZip([
        { name: "a/b.sh", data: "x", mode: 0o100755 },
        { name: "c", data: "y" },
      ]);
      const dest = join(tmp.dir, "code");
      await extractZip(zip, dest);
      expect((await stat(join(dest, "a"))).mode & 0o777).toBe(0o755);
      expect((await stat(join(dest, "a/b.sh"))).mode & 0o777).toBe(0o755);
      expect((await stat(join(dest, "c"))).mode & 0o777).toBe(0o644);
    } finally {
      process.umask(old);
    }
  });

  it("round-trips zipDirectory, exec bits and symlinks included", async () => {
    const src = join(tmp.dir, "src");
    await mkdir(join(src, "bin"), { recursive: true });
    await mkdir(join(src, "empty"));
    await writeFile(join(src, "index.py"), "def handler(e, c): return 1\n");
    await writeFile(join(src, "bin/bootstrap"), "#!/bin/sh\n");
    await chmod(join(src, "bin/bootstrap"), 0o755);
    const dest = join(tmp.dir, "out");
    await extractZip(await zipDirectory(src), dest);
    expect((await readdir(dest)).sort()).toEqual(["bin", "empty", "index.py"]);
    expect((await stat(join(dest, "bin/bootstrap"))).mode & 0o777).toBe(0o755);
    expect((await stat(join(dest, "index.py"))).mode & 0o777).toBe(0o644);
  });

  it("accepts an existing empty destination directory", async () => {
    const dest = join(tmp.dir, "code");
    await mkdir(dest);
    await extractZip(buildZip([{ name: "a.js", data: "a" }]), dest);
    expect(await readdir(dest)).toEqual(["a.js"]);
  });
});

describe("extractZip: leaves nothing behind on failure", () => {
  const hostile: [string, () => Promise<Buffer> | Buffer][] = [
    [
      "zip-slip ../evil.js",
      () =>
        buildZip([
          { name: "ok.js", data: "x" },
          { name: "../evil.js", data: "e" },
        ]),
    ],
    ["absolute /etc/x", () => buildZip([{ name: "/etc/x", data: "e" }])],
    [
      "symlink to /etc/passwd",
      () => buildZip([{ name: "pw", data: "/etc/passwd", mode: 0o120777 }]),
    ],
    ["symlink to ../../x", () => buildZip([{ name: "a/l", data: "../../x", mode: 0o120777 }])],
    ["non-zip bytes", () => Buffer.from("not a zip")],
    ["a 200 MB bomb", () => zerosZip(200 * 1024 * 1024)],
    [
      "a central directory that lies about sizes",
      () =>
        buildZip([
          { name: "first.js", data: "fine" },
          { name: "liar.bin", data: Buffer.alloc(4 * 1024 * 1024), declaredSize: 100 },
        ]),
    ],
  ];

  it.each(hostile)("%s → INVALID_CODE", async (_label, make) => {
    const dest = join(tmp.dir, "code");
    expect(await codeOf(extractZip(await make(), dest))).toBe("INVALID_CODE");
    expect(await readdir(tmp.dir)).toEqual([]);
  });

  it("applies the caller's limits", async () => {
    const zip = buildZip([
      { name: "a.bin", data: Buffer.alloc(600 * 1024, 1) },
      { name: "b.bin", data: Buffer.alloc(600 * 1024, 2) },
    ]);
    const dest = join(tmp.dir, "code");
    expect(await codeOf(extractZip(zip, dest, { maxUnpackedBytes: 1024 * 1024 }))).toBe(
      "INVALID_CODE",
    );
    expect(await codeOf(extractZip(zip, dest, { maxEntries: 1 }))).toBe("INVALID_CODE");
    expect(await readdir(tmp.dir)).toEqual([]);
  });

  it("refuses a non-empty destination with CONFLICT and keeps it intact", async () => {
    const dest = join(tmp.dir, "code");
    await mkdir(dest);
    await writeFile(join(dest, "keep.txt"), "keep");
    expect(await codeOf(extractZip(buildZip([{ name: "a.js", data: "a" }]), dest))).toBe(
      "CONFLICT",
    );
    expect(await readdir(tmp.dir)).toEqual(["code"]);
    expect(await readdir(dest)).toEqual(["keep.txt"]);
  });
});
