import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMergedDirs } from "../../src/blobs/index.js";

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "fngraph-merge-"));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function tree(
  name: string,
  files: Record<string, string>,
  links: Record<string, string> = {},
): string {
  const dir = path.join(root, name);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
  for (const [rel, target] of Object.entries(links)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    symlinkSync(target, path.join(dir, rel));
  }
  return dir;
}

describe("createMergedDirs", () => {
  it("lays layers over each other in order, later entries replacing earlier ones of any kind", async () => {
    const code = tree("code", { "a.txt": "code", "dir/x": "code", "file-then-dir": "f" });
    const dep1 = tree("dep1", { "a.txt": "dep1", only1: "1", "file-then-dir/inner": "d" });
    const dep2 = tree("dep2", { only1: "2" });
    const merged = await createMergedDirs({ dir: path.join(root, "merged") });
    const layers = [
      { key: "c", dir: code },
      { key: "d1", dir: dep1 },
      { key: "d2", dir: dep2 },
    ];
    const out = await merged.merged(layers);
    expect(readFileSync(path.join(out, "a.txt"), "utf8")).toBe("dep1");
    expect(readFileSync(path.join(out, "dir/x"), "utf8")).toBe("code");
    expect(readFileSync(path.join(out, "only1"), "utf8")).toBe("2");
    expect(readFileSync(path.join(out, "file-then-dir/inner"), "utf8")).toBe("d");
    // Built once per ordered key list; another order is another tree.
    expect(await merged.merged(layers)).toBe(out);
    expect(await merged.merged([layers[0]!, layers[2]!, layers[1]!])).not.toBe(out);
    // Hard links, not copies.
    expect(lstatSync(path.join(out, "only1")).ino).toBe(lstatSync(path.join(dep2, "only1")).ino);
    await merged.close();
  });

  it("never writes through a symlink an earlier layer left where a directory goes", async () => {
    const outside = path.join(root, "outside");
    mkdirSync(outside);
    const code = tree("code", { "keep.txt": "k" }, { lib: outside });
    const dep = tree("dep", { "lib/libx.so": "so" }, { "link-to-keep": "keep.txt" });
    const merged = await createMergedDirs({ dir: path.join(root, "merged") });
    const out = await merged.merged([
      { key: "c", dir: code },
      { key: "d", dir: dep },
    ]);
    expect(lstatSync(path.join(out, "lib")).isDirectory()).toBe(true);
    expect(readFileSync(path.join(out, "lib/libx.so"), "utf8")).toBe("so");
    expect(() => lstatSync(path.join(outside, "libx.so"))).toThrow();
    expect(readlinkSync(path.join(out, "link-to-keep"))).toBe("keep.txt");
    await merged.close();
  });
});
