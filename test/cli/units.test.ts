import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toUserData } from "../../src/cli/commands/fn-deploy.js";
import { toErrorLine, CliError } from "../../src/cli/errors.js";
import { parseErrorBody, toApiError } from "../../src/cli/http.js";
import { formatBytes, toKeyValue, toTable } from "../../src/cli/output.js";
import { createUploadProgress } from "../../src/cli/progress.js";
import { urnPath } from "../../src/cli/api-client.js";
import { zipFolder } from "../../src/cli/zip.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "fngraph-cli-unit-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

async function makeTree(dir: string, order: "ab" | "ba"): Promise<void> {
  const files: [string, string][] = [
    ["a.js", "exports.a = 1;\n"],
    ["sub/b.py", "def b(e, c):\n    return 1\n"],
  ];
  if (order === "ba") files.reverse();
  for (const [f, c] of files) {
    await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
    await writeFile(path.join(dir, f), c);
  }
  await mkdir(path.join(dir, ".git"), { recursive: true });
  await writeFile(path.join(dir, ".git", "HEAD"), order);
  await writeFile(path.join(dir, "run.sh"), "#!/bin/sh\n");
  await chmod(path.join(dir, "run.sh"), 0o755);
  await symlink("a.js", path.join(dir, "link.js"));
}

describe("zipFolder", () => {
  it("gives the same bytes for the same content, whatever the times and creation order", async () => {
    const one = path.join(root, "one");
    const two = path.join(root, "two");
    await makeTree(one, "ab");
    await makeTree(two, "ba");
    await utimes(path.join(two, "a.js"), new Date(2011, 1, 1), new Date(2011, 1, 1));
    const [z1, z2] = [await zipFolder(one), await zipFolder(two)];
    expect(z1.subarray(0, 4)).toEqual(Buffer.from("PK\x03\x04", "latin1"));
    expect(sha(z1)).toBe(sha(z2));
    expect(z1.includes(Buffer.from(".git/HEAD"))).toBe(false);
    expect(z1.includes(Buffer.from("sub/b.py"))).toBe(true);
  });

  it("changes when a file changes, and refuses missing or empty folders", async () => {
    const dir = path.join(root, "three");
    await makeTree(dir, "ab");
    const before = sha(await zipFolder(dir));
    await writeFile(path.join(dir, "a.js"), "exports.a = 2;\n");
    expect(sha(await zipFolder(dir))).not.toBe(before);
    await expect(zipFolder(path.join(root, "nope"))).rejects.toThrow(/no such folder/);
    await mkdir(path.join(root, "empty"));
    await expect(zipFolder(path.join(root, "empty"))).rejects.toThrow(/no files/);
  });
});

describe("output", () => {
  it("aligns table columns", () => {
    expect(
      toTable(
        ["A", "BB"],
        [
          ["xxx", "1"],
          ["y", "22"],
        ],
      ),
    ).toBe("A    BB\nxxx  1\ny    22\n");
  });
  it("aligns key: value", () => {
    expect(
      toKeyValue([
        ["a", "1"],
        ["long", "2"],
      ]),
    ).toBe("a:    1\nlong: 2\n");
  });
  it("formats sizes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(Number.NaN)).toBe("-");
  });
});

describe("--env", () => {
  it("builds user_data and rejects pairs without a key", () => {
    expect(toUserData([])).toBeUndefined();
    expect(JSON.parse(toUserData(["A=1", "B=x=y", "C="])!)).toEqual({ A: "1", B: "x=y", C: "" });
    expect(() => toUserData(["=1"])).toThrow(CliError);
    expect(() => toUserData(["nokey"])).toThrow(CliError);
  });
});

describe("errors", () => {
  it("prints API errors with their code", () => {
    const err = toApiError({
      status: 404,
      headers: {},
      text: '{"error_code":"FSS.1051","error_msg":"Not found the function"}',
    });
    expect(toErrorLine(err)).toBe("error FSS.1051: Not found the function");
    expect(err.exitCode).toBe(1);
  });
  it("turns 401 into a login hint", () => {
    const err = toApiError({
      status: 401,
      headers: {},
      text: '{"error_code":"FSS.0401","error_msg":"x"}',
    });
    expect(toErrorLine(err)).toMatch(/^error: credentials rejected: run `fngraph login`/);
  });
  it("reads the alternative error shape and non-JSON bodies", () => {
    expect(parseErrorBody('{"error":{"code":"APIGW.0301","message":"m"}}')).toEqual({
      code: "APIGW.0301",
      message: "m",
    });
    expect(parseErrorBody("Bad Gateway")).toEqual({ code: "", message: "Bad Gateway" });
  });
});

describe("progress", () => {
  it("draws only on a terminal and only above 1 MB", () => {
    const out: string[] = [];
    expect(createUploadProgress((t) => out.push(t), false, 5_000_000)).toBeUndefined();
    expect(createUploadProgress((t) => out.push(t), true, 1000)).toBeUndefined();
    const p = createUploadProgress((t) => out.push(t), true, 2_000_000)!;
    p(1_000_000, 2_000_000);
    p(1_000_001, 2_000_000); // same percent: no redraw
    p(2_000_000, 2_000_000);
    expect(out).toHaveLength(3);
    expect(out[0]).toMatch(/^\ruploading \[#{15}-{15}\] +50%/);
    expect(out[2]).toBe("\n");
  });
});

describe("urnPath", () => {
  it("keeps colons and ! raw", () => {
    expect(urnPath("urn:fss:r:p:function:default:f:!a")).toBe("urn:fss:r:p:function:default:f:!a");
    expect(urnPath("a b")).toBe("a%20b");
  });
});
