import { createHash } from "node:crypto";
import { chmod, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  MAX_ZIP_BASE64_BYTES,
  decodeZipBase64,
  inspectZip,
  zipDirectory,
  zipFromSingleFile,
} from "../../src/packages/index.js";
import { makeTempDir } from "./zip-builder.js";

const sha512 = (b: Buffer): string => createHash("sha512").update(b).digest("hex");

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  throw new Error("expected a throw");
}

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeEach(async () => {
  tmp = await makeTempDir("zipwrite");
});
afterEach(async () => {
  await tmp.cleanup();
});

describe("zipping", () => {
  it("zipFromSingleFile is deterministic", async () => {
    const a = await zipFromSingleFile("index.py", Buffer.from("print(1)\n"));
    await new Promise((r) => setTimeout(r, 1100)); // DOS time has 2 s resolution; cross a tick
    const b = await zipFromSingleFile("index.py", Buffer.from("print(1)\n"));
    expect(sha512(a)).toBe(sha512(b));
    const { entries } = await inspectZip(a);
    expect(entries).toEqual([
      { path: "index.py", size: 9, isDir: false, isSymlink: false, mode: 0o644 },
    ]);
    const exec = await inspectZip(await zipFromSingleFile("bootstrap", Buffer.from("x"), 0o755));
    expect(exec.entries[0]?.mode).toBe(0o755);
  });

  it("zipFromSingleFile refuses unsafe names", async () => {
    await expect(zipFromSingleFile("../x.js", Buffer.from("x"))).rejects.toMatchObject({
      code: "INVALID_CODE",
    });
  });

  it("zipDirectory is deterministic and keeps exec bits, empty dirs and symlinks", async () => {
    const src = join(tmp.dir, "src");
    await mkdir(join(src, "b/empty"), { recursive: true });
    await writeFile(join(src, "b/run.sh"), "#!/bin/sh\n");
    await chmod(join(src, "b/run.sh"), 0o744);
    await writeFile(join(src, "a.js"), "a");
    await symlink("b/run.sh", join(src, "link"));
    const first = await zipDirectory(src);
    const second = await zipDirectory(src);
    expect(sha512(first)).toBe(sha512(second));
    const { entries } = await inspectZip(first);
    expect(entries.map((e) => [e.path, e.mode, e.isDir, e.isSymlink])).toEqual([
      ["a.js", 0o644, false, false],
      ["b", 0o755, true, false],
      ["b/empty", 0o755, true, false],
      ["b/run.sh", 0o755, false, false],
      ["link", 0o777, false, true],
    ]);
  });

  it("decodeZipBase64 checks size, base64 and magic", async () => {
    const zip = await zipFromSingleFile("a.js", Buffer.from("a"));
    expect(decodeZipBase64(zip.toString("base64")).equals(zip)).toBe(true);
    expect(codeOf(() => decodeZipBase64("x".repeat(101), 100))).toBe("PACKAGE_TOO_LARGE");
    expect(codeOf(() => decodeZipBase64("@@@not base64@@@"))).toBe("INVALID_CODE");
    expect(codeOf(() => decodeZipBase64(Buffer.from("hello").toString("base64")))).toBe(
      "INVALID_CODE",
    );
    expect(MAX_ZIP_BASE64_BYTES).toBe(50 * 1024 * 1024);
  });
});
