import { describe, expect, it } from "vitest";
import { newRequestId } from "../../src/core/request-id.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("newRequestId", () => {
  it("is a version-7 UUID whose first 48 bits are the time in milliseconds", () => {
    const at = Date.UTC(2026, 10, 29, 1, 2, 3, 456);
    const id = newRequestId(at);
    expect(id).toMatch(UUID_V7);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at);
  });

  it("grows with time, so the records' index is appended to, and never repeats", () => {
    const ids = Array.from({ length: 2000 }, (_, i) => newRequestId(1_800_000_000_000 + i));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    const same = Array.from({ length: 2000 }, () => newRequestId(5));
    expect(new Set(same).size).toBe(same.length);
    for (const id of same) expect(id).toMatch(UUID_V7);
  });

  it("uses the current time by default", () => {
    const before = Date.now();
    const id = newRequestId();
    const t = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Date.now());
  });
});
