import { describe, expect, it } from "vitest";
import { logTimestamp, startLine } from "../../src/invoker/log-format.js";
import { runtimeHeaders } from "../../src/invoker/function-env.js";

describe("log timestamps", () => {
  it("are UTC to the second, also when time goes back and forth (fake clocks)", () => {
    const t = Date.UTC(2026, 2, 17, 10, 13, 22, 999);
    expect(logTimestamp(t)).toBe("2026-03-17T10:13:22Z");
    expect(logTimestamp(t - 999)).toBe("2026-03-17T10:13:22Z");
    expect(logTimestamp(t + 1)).toBe("2026-03-17T10:13:23Z");
    expect(logTimestamp(t - 1000)).toBe("2026-03-17T10:13:21Z");
    expect(logTimestamp(0)).toBe("1970-01-01T00:00:00Z");
    expect(logTimestamp(t)).toBe("2026-03-17T10:13:22Z");
    expect(startLine(t, "r1", "latest")).toBe(
      "2026-03-17T10:13:22Z Start invoke request 'r1', version: latest\n",
    );
  });
});

describe("runtimeHeaders", () => {
  it("keeps the x-cff-* request headers and nothing else", () => {
    expect(
      runtimeHeaders({
        "x-auth-token": "secret",
        authorization: "SDK-HMAC-SHA256 …",
        "content-type": "application/json",
        "x-cff-workflow-id": "wf",
        "x-cff-security-access-key": "ak",
      }),
    ).toEqual({ "x-cff-workflow-id": "wf", "x-cff-security-access-key": "ak" });
    expect(runtimeHeaders(undefined)).toEqual({});
  });
});
