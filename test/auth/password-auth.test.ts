import { describe, expect, it } from "vitest";
import { generateIdentity } from "../../src/auth/identity.js";
import { createTokenService, TOKEN_TTL_MS } from "../../src/auth/token-service.js";
import { createFakeClock } from "./fake-clock.js";

const START = Date.UTC(2025, 5, 1, 8, 30, 0, 123);
const identity = generateIdentity({ region: "local-1" });
const tokens = createTokenService({ identity, clock: createFakeClock(START) });

interface BodyOptions {
  user?: string;
  password?: string;
  domain?: Record<string, string>;
  scope?: unknown;
  methods?: string[];
}

function body(o: BodyOptions = {}): unknown {
  return {
    auth: {
      identity: {
        methods: o.methods ?? ["password"],
        password: {
          user: {
            name: o.user ?? identity.userName,
            password: o.password ?? identity.password,
            domain: o.domain ?? { name: identity.domainName },
          },
        },
      },
      scope: o.scope ?? { project: { name: identity.projectName } },
    },
  };
}

function expectCode(fn: () => unknown, code: string): void {
  expect(fn).toThrow(expect.objectContaining({ code }) as Error);
}

describe("authenticatePassword", () => {
  it("authenticates by domain name with the project named by region, IAM-shaped", () => {
    const out = tokens.authenticatePassword(body());
    expect(tokens.verify(out.token).projectId).toBe(identity.projectId);
    expect(out.expiresAt.getTime()).toBe(START + TOKEN_TTL_MS);
    const domain = { id: identity.domainId, name: identity.domainName };
    expect(out.body).toEqual({
      token: {
        expires_at: "2025-06-02T08:30:00.123000Z",
        issued_at: "2025-06-01T08:30:00.123000Z",
        methods: ["password"],
        catalog: [],
        project: { id: identity.projectId, name: identity.projectName, domain },
        user: { id: identity.userId, name: identity.userName, domain, password_expires_at: "" },
        roles: [{ id: "0", name: "te_admin" }],
      },
    });
  });

  it("authenticates by domain id with the project given by id", () => {
    const out = tokens.authenticatePassword(
      body({
        domain: { id: identity.domainId },
        scope: { project: { id: identity.projectId } },
        methods: ["password", "totp"],
      }),
    );
    expect(tokens.verify(out.token).projectId).toBe(identity.projectId);
  });

  it("issues a domain-scoped token for scope.domain", () => {
    const out = tokens.authenticatePassword(
      body({ scope: { domain: { name: identity.domainName } } }),
    );
    expect(out.body.token.project).toBeUndefined();
    expect(out.body.token.domain).toEqual({ id: identity.domainId, name: identity.domainName });
    expect(tokens.verify(out.token).projectId).toBeUndefined();
  });

  it("advertises a FunctionGraph catalog entry when given an endpoint", () => {
    const out = tokens.authenticatePassword(body(), { endpoint: "http://127.0.0.1:8080/" });
    expect(out.body.token.catalog).toEqual([
      expect.objectContaining({
        type: "FunctionGraph",
        endpoints: [expect.objectContaining({ url: "http://127.0.0.1:8080", region: "local-1" })],
      }),
    ]);
  });

  it("rejects a wrong password, user or domain with UNAUTHORIZED", () => {
    expectCode(
      () => tokens.authenticatePassword(body({ password: "nope-nope-nope" })),
      "UNAUTHORIZED",
    );
    expectCode(() => tokens.authenticatePassword(body({ user: "someone" })), "UNAUTHORIZED");
    expectCode(
      () => tokens.authenticatePassword(body({ domain: { name: "other" } })),
      "UNAUTHORIZED",
    );
    expectCode(
      () => tokens.authenticatePassword(body({ domain: { id: "f".repeat(32) } })),
      "UNAUTHORIZED",
    );
    expectCode(
      () => tokens.authenticatePassword(body({ domain: { name: identity.domainName, id: "x" } })),
      "UNAUTHORIZED",
    );
  });

  it("rejects an unknown project with UNAUTHORIZED, as IAM does", () => {
    expectCode(
      () => tokens.authenticatePassword(body({ scope: { project: { name: "cn-north-4" } } })),
      "UNAUTHORIZED",
    );
    expectCode(
      () => tokens.authenticatePassword(body({ scope: { project: { id: "0".repeat(32) } } })),
      "UNAUTHORIZED",
    );
  });

  it("rejects malformed bodies with INVALID_PARAMETER", () => {
    for (const bad of [
      undefined,
      null,
      "string",
      {},
      { auth: {} },
      body({ methods: ["token"] }),
      body({ domain: {} }),
      body({ scope: {} }),
      body({ scope: { project: {} } }),
      body({ password: "" }),
    ]) {
      expectCode(() => tokens.authenticatePassword(bad), "INVALID_PARAMETER");
    }
  });
});
