import { describe, expect, it } from "vitest";
import { parseFunctionUrn, toFunctionUrn, toQualifiedUrn } from "../../src/core/urn.js";

const d = { region: "local-1", projectId: "p".repeat(32) };
const P = d.projectId;

describe("function URN parsing (contract §1.1)", () => {
  it.each([
    ["fn", { projectId: P, package: "default", name: "fn" }],
    ["app:fn", { projectId: P, package: "app", name: "fn" }],
    [`${P}:app:fn`, { projectId: P, package: "app", name: "fn" }],
    [
      `${P}:app:fn:v1`,
      { projectId: P, package: "app", name: "fn", qualifier: { kind: "unknown", name: "v1" } },
    ],
    [
      `${P}:app:fn:!prod`,
      { projectId: P, package: "app", name: "fn", qualifier: { kind: "alias", name: "prod" } },
    ],
    [`urn:fss:r1:${P}:function:app:fn`, { region: "r1", projectId: P, package: "app", name: "fn" }],
    [
      `urn:fss:r1:${P}:function:app:fn:latest`,
      { region: "r1", package: "app", qualifier: { kind: "version", name: "latest" } },
    ],
    [`urn:fss:r1:${P}:function:app:fn:!a1`, { qualifier: { kind: "alias", name: "a1" } }],
    [
      encodeURIComponent(`urn:fss:r1:${P}:function:app:fn:!a1`),
      { qualifier: { kind: "alias", name: "a1" } },
    ],
  ])("%s", (input, expected) => {
    expect(parseFunctionUrn(input, d)).toMatchObject(expected);
  });

  it.each([
    ["", "INVALID_PARAMETER"],
    ["a:b:c:d:e", "INVALID_PARAMETER"],
    [`urn:xxx:r1:${P}:function:app:fn`, "INVALID_PARAMETER"],
    [`urn:fss:r1:${P}:lambda:app:fn`, "INVALID_PARAMETER"],
    ["1fn", "INVALID_FUNCTION_NAME"],
    ["app space:fn", "INVALID_PACKAGE"],
    [`${P}:app:fn:bad/ver`, "INVALID_VERSION"],
  ])("rejects %j with %s", (input, code) => {
    expect(() => parseFunctionUrn(input, d)).toThrow(expect.objectContaining({ code }));
  });

  it("formats 7- and 8-field URNs", () => {
    const ref = { region: "r1", projectId: P, package: "default", name: "fn" };
    expect(toFunctionUrn(ref)).toBe(`urn:fss:r1:${P}:function:default:fn`);
    expect(toQualifiedUrn(ref, "!prod")).toBe(`urn:fss:r1:${P}:function:default:fn:!prod`);
  });
});
