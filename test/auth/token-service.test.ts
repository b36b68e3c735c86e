import { describe, expect, it } from "vitest";
import { generateIdentity } from "../../src/auth/identity.js";
import { createTokenService, TOKEN_TTL_MS } from "../../src/auth/token-service.js";
import { createFakeClock } from "./fake-clock.js";

const START = Date.UTC(2025, 0, 1, 12, 0, 0);

function expectCode(fn: () => unknown, code: string): void {
  expect(fn).toThrow(expect.objectContaining({ code }) as Error);
}

describe("createTokenService", () => {
  const identity = generateIdentity({ region: "local-1" });

  it("round-trips an issued token", () => {
    const clock = createFakeClock(START);
    const tokens = createTokenService({ identity, clock });
    const issued = tokens.issue({ scopeProjectId: identity.projectId });
    expect(issued.token.startsWith("MII")).toBe(true);
    expect(issued.token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(issued.issuedAt.getTime()).toBe(START);
    expect(issued.expiresAt.getTime()).toBe(START + TOKEN_TTL_MS);
    expect(tokens.verify(issued.token)).toEqual({
      userId: identity.userId,
      projectId: identity.projectId,
      expiresAt: issued.expiresAt,
    });
  });

  it("issues distinct tokens for the same scope and instant", () => {
    const tokens = createTokenService({ identity, clock: createFakeClock(START) });
    const a = tokens.issue({ scopeProjectId: identity.projectId });
    const b = tokens.issue({ scopeProjectId: identity.projectId });
    expect(a.token).not.toBe(b.token);
  });

  it("issues domain-scoped tokens without a project", () => {
    const tokens = createTokenService({ identity, clock: createFakeClock(START) });
    const claims = tokens.verify(tokens.issue({}).token);
    expect(claims.projectId).toBeUndefined();
    expect(claims.userId).toBe(identity.userId);
  });

  it("remembers a verified token but still expires it, and never trusts a changed one", () => {
    const clock = createFakeClock(START);
    const tokens = createTokenService({ identity, clock });
    const { token } = tokens.issue({ scopeProjectId: identity.projectId });
    expect(tokens.verify(token).projectId).toBe(identity.projectId);
    // The second check is answered from memory: same claims.
    expect(tokens.verify(token)).toEqual(tokens.verify(token));
    const forged = token.slice(0, -2) + (token.endsWith("AA") ? "BB" : "AA");
    expectCode(() => tokens.verify(forged), "UNAUTHORIZED");
    clock.advance(TOKEN_TTL_MS);
    expect(() => tokens.verify(token)).toThrow(/expired/);
  });

  it("expires tokens after 24 hours on the injected clock", () => {
    const clock = createFakeClock(START);
    const tokens = createTokenService({ identity, clock });
    const { token } = tokens.issue({ scopeProjectId: identity.projectId });
    clock.advance(TOKEN_TTL_MS - 1);
    expect(tokens.verify(token).userId).toBe(identity.userId);
    clock.advance(1);
    expectCode(() => tokens.verify(token), "UNAUTHORIZED");
  });

  it("rejects tampered tokens and garbage", () => {
    const tokens = createTokenService({ identity, clock: createFakeClock(START) });
    const { token } = tokens.issue({ scopeProjectId: identity.projectId });
    // Flip one character in the payload part, one in the MAC part.
    const flip = (t: string, i: number) =>
      t.slice(0, i) + (t[i] === "A" ? "B" : "A") + t.slice(i + 1);
    expectCode(() => tokens.verify(flip(token, token.length - 5)), "UNAUTHORIZED");
    expectCode(() => tokens.verify(flip(token, 5)), "UNAUTHORIZED");
    for (const garbage of [
      "",
      "MII",
      "MIIabc",
      "abc",
      token.slice(3),
      token + "!",
      "MII" + "A".repeat(80),
    ]) {
      expectCode(() => tokens.verify(garbage), "UNAUTHORIZED");
    }
  });

  it("rejects a forged payload re-encoded without the key", () => {
    const tokens = createTokenService({ identity, clock: createFakeClock(START) });
    const { token } = tokens.issue({ scopeProjectId: identity.projectId });
    const raw = Buffer.from(token.slice(3), "base64url");
    const payload = JSON.parse(raw.subarray(32).toString("utf8")) as Record<string, unknown>;
    payload.p = "f".repeat(32);
    const forged =
      "MII" +
      Buffer.concat([raw.subarray(0, 32), Buffer.from(JSON.stringify(payload))]).toString(
        "base64url",
      );
    expectCode(() => tokens.verify(forged), "UNAUTHORIZED");
  });

  it("rejects a token signed with another identity's key", () => {
    const clock = createFakeClock(START);
    const other = generateIdentity({ region: "local-1" });
    const foreign = createTokenService({ identity: other, clock }).issue({
      scopeProjectId: other.projectId,
    });
    const tokens = createTokenService({ identity, clock });
    expectCode(() => tokens.verify(foreign.token), "UNAUTHORIZED");
  });
});
