import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BasicCredentials } from "@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials.js";
import {
  assertProjectAccess,
  createAuthenticator,
  type Principal,
} from "../../src/auth/authenticate.js";
import { generateIdentity } from "../../src/auth/identity.js";
import { parseSdkDate } from "../../src/auth/sdk-signature.js";
import { createTokenService } from "../../src/auth/token-service.js";
import { createFakeClock } from "./fake-clock.js";
import { startSdkWire, type CapturedRequest, type SdkWire } from "./sdk-wire.js";

const identity = generateIdentity({ region: "local-1" });
const other = generateIdentity({ region: "local-1" });

function expectCode(fn: () => unknown, code: string): void {
  expect(fn).toThrow(expect.objectContaining({ code }) as Error);
}

let wire: SdkWire;
beforeAll(async () => {
  wire = await startSdkWire();
});
afterAll(async () => {
  await wire.close();
});

/** Authenticator whose clock sits at the request's own X-Sdk-Date. */
function authenticatorAt(req?: CapturedRequest) {
  const now = req ? (parseSdkDate(String(req.headers["x-sdk-date"])) ?? 0) : Date.now();
  const clock = createFakeClock(now);
  const tokens = createTokenService({ identity, clock });
  return { tokens, authenticate: createAuthenticator({ tokens, clock, identity }) };
}

const listUrl = "/v2/{project_id}/fgs/functions";

describe("authenticate", () => {
  it("accepts an X-Auth-Token", () => {
    const { tokens, authenticate } = authenticatorAt();
    const { token } = tokens.issue({ scopeProjectId: identity.projectId });
    const principal = authenticate({
      method: "GET",
      rawUrl: `/v2/${identity.projectId}/fgs/functions`,
      headers: { "x-auth-token": token },
      body: Buffer.alloc(0),
    });
    expect(principal).toEqual({
      userId: identity.userId,
      projectId: identity.projectId,
      via: "token",
    });
  });

  it("rejects a bad X-Auth-Token", () => {
    const { authenticate } = authenticatorAt();
    expectCode(
      () =>
        authenticate({
          method: "GET",
          rawUrl: "/",
          headers: { "x-auth-token": "MIIxx" },
          body: undefined,
        }),
      "UNAUTHORIZED",
    );
  });

  it("accepts an SDK-signed request with the identity's AK/SK", async () => {
    const cred = new BasicCredentials()
      .withAk(identity.accessKey)
      .withSk(identity.secretKey)
      .withProjectId(identity.projectId);
    const req = await wire.send(cred, { url: listUrl, queryParams: { maxitems: "10" } });
    const principal = authenticatorAt(req).authenticate(req);
    expect(principal).toMatchObject({
      userId: identity.userId,
      projectId: identity.projectId,
      via: "aksk",
      accessKey: identity.accessKey,
      signedProjectId: identity.projectId,
    });
    expect(() => assertProjectAccess(principal, identity.projectId)).not.toThrow();
  });

  it("rejects another identity's AK", async () => {
    const cred = new BasicCredentials()
      .withAk(other.accessKey)
      .withSk(other.secretKey)
      .withProjectId(identity.projectId);
    const req = await wire.send(cred, { url: listUrl });
    expectCode(() => authenticatorAt(req).authenticate(req), "UNAUTHORIZED");
  });

  it("rejects requests with neither credential", () => {
    const { authenticate } = authenticatorAt();
    expectCode(
      () => authenticate({ method: "GET", rawUrl: "/", headers: {}, body: undefined }),
      "UNAUTHORIZED",
    );
  });
});

describe("assertProjectAccess", () => {
  const p = identity.projectId;
  const q = other.projectId;
  const token: Principal = { userId: identity.userId, projectId: p, via: "token" };

  it("allows the caller's own project", () => {
    expect(() => assertProjectAccess(token, p)).not.toThrow();
    expect(() =>
      assertProjectAccess({ ...token, via: "aksk", signedProjectId: p }, p),
    ).not.toThrow();
    expect(() => assertProjectAccess({ ...token, via: "aksk" }, p)).not.toThrow();
  });

  it("forbids another project in the path", () => {
    expectCode(() => assertProjectAccess(token, q), "FORBIDDEN");
    expectCode(() => assertProjectAccess({ ...token, via: "aksk" }, q), "FORBIDDEN");
  });

  it("forbids a signed X-Project-Id that differs from the path", () => {
    expectCode(
      () => assertProjectAccess({ ...token, via: "aksk", signedProjectId: q }, p),
      "FORBIDDEN",
    );
  });

  it("forbids domain-scoped tokens on project paths", () => {
    expectCode(
      () => assertProjectAccess({ userId: identity.userId, via: "token" }, p),
      "FORBIDDEN",
    );
  });

  it("forbids an SDK request whose signed X-Project-Id is not the path project", async () => {
    const cred = new BasicCredentials()
      .withAk(identity.accessKey)
      .withSk(identity.secretKey)
      .withProjectId(q);
    const req = await wire.send(cred, { url: `/v2/${p}/fgs/functions` });
    const principal = authenticatorAt(req).authenticate(req);
    expect(principal.signedProjectId).toBe(q);
    expectCode(() => assertProjectAccess(principal, p), "FORBIDDEN");
  });
});
