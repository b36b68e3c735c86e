import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ERRORS, FsError, isFsError } from "../../src/core/errors.js";

describe("error catalogue", () => {
  it("is documented in docs/errors.md, code by code", () => {
    const doc = readFileSync(
      path.join(import.meta.dirname, "..", "..", "docs", "errors.md"),
      "utf8",
    );
    for (const [code, e] of Object.entries(ERRORS)) {
      expect(doc, code).toContain(`| \`${code}\` | ${e.status} | \`${e.fss}\` |`);
    }
  });

  it("maps every code to a 4xx/5xx status and an FSS.nnnn error_code", () => {
    for (const e of Object.values(ERRORS)) {
      expect(e.status).toBeGreaterThanOrEqual(400);
      expect(e.status).toBeLessThan(600);
      expect(e.fss).toMatch(/^FSS\.\d{4}$/);
    }
  });

  it("serialises to the FunctionGraph body and is recognised by shape", () => {
    const err = new FsError("FUNCTION_NOT_FOUND", "no such function");
    expect(err.toBody()).toEqual({ error_code: "FSS.1051", error_msg: "no such function" });
    expect(isFsError(err)).toBe(true);
    expect(isFsError({ name: "FsError", code: "FUNCTION_NOT_FOUND" })).toBe(true);
    expect(isFsError(new Error("x"))).toBe(false);
  });
});
