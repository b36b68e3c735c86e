import { describe, expect, it } from "vitest";
import {
  assertHandlerEntry,
  findEntry,
  inspectZip,
  toHandlerEntryFile,
} from "../../src/packages/index.js";
import { buildZip } from "./zip-builder.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  throw new Error("expected a throw");
}

describe("handler entry", () => {
  it("finds the entry file at the root and in sub directories", async () => {
    const { entries } = await inspectZip(
      buildZip([
        { name: "index.js", data: "a" },
        { name: "sub/dir/index.py", data: "b" },
        { name: "sub/" },
      ]),
    );
    expect(findEntry(entries, "index.js")?.path).toBe("index.js");
    expect(findEntry(entries, "./sub/dir/index.py")?.path).toBe("sub/dir/index.py");
    expect(findEntry(entries, "sub")).toBeUndefined();
    expect(assertHandlerEntry(entries, "sub/dir/index.py").size).toBe(1);
    expect(assertHandlerEntry(entries, ["index.mjs", "index.js"]).path).toBe("index.js");
  });

  it("maps handlers to entry files", () => {
    expect(toHandlerEntryFile("index.handler", ".js")).toBe("index.js");
    expect(toHandlerEntryFile("sub/dir/index.handler", ".py")).toBe("sub/dir/index.py");
    expect(codeOf(() => toHandlerEntryFile("handler", ".js"))).toBe("INVALID_HANDLER");
    expect(codeOf(() => toHandlerEntryFile("index.", ".js"))).toBe("INVALID_HANDLER");
    expect(codeOf(() => toHandlerEntryFile("a.b/index", ".js"))).toBe("INVALID_HANDLER");
  });

  it("rejects a missing handler file", async () => {
    const { entries } = await inspectZip(buildZip([{ name: "main.js", data: "a" }]));
    expect(codeOf(() => assertHandlerEntry(entries, "index.js"))).toBe("HANDLER_FILE_NOT_FOUND");
  });

  it("rejects an archive nested in one top-level folder", async () => {
    const { entries } = await inspectZip(
      buildZip([
        { name: "my-func/" },
        { name: "my-func/index.js", data: "a" },
        { name: "my-func/lib/x.js", data: "b" },
      ]),
    );
    expect(codeOf(() => assertHandlerEntry(entries, "index.js"))).toBe("HANDLER_FILE_NOT_FOUND");
  });
});
