import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BasicCredentials } from "@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials.js";
import { GlobalCredentials } from "@huaweicloud/huaweicloud-sdk-core/auth/GlobalCredentials.js";
import {
  parseSdkDate,
  verifySdkSignature,
  type SecretRecord,
} from "../../src/auth/sdk-signature.js";
import { startSdkWire, type CapturedRequest, type SdkWire } from "./sdk-wire.js";

const AK = "QWERTYUIOPASDFGHJKL1";
const SK = "s3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr";
const PROJECT = "0123456789abcdef0123456789abcdef";
const URN = `urn:fss:local-1:${PROJECT}:function:default:hello:!prod`;

const lookup =
  (record: SecretRecord, ak = AK) =>
  (accessKey: string): SecretRecord | undefined =>
    accessKey === ak ? record : undefined;

const basic = (): BasicCredentials =>
  new BasicCredentials().withAk(AK).withSk(SK).withProjectId(PROJECT);

let wire: SdkWire;
beforeAll(async () => {
  wire = await startSdkWire();
});
afterAll(async () => {
  await wire.close();
});

function dateOf(req: CapturedRequest): number {
  const d = parseSdkDate(String(req.headers["x-sdk-date"]));
  if (d === undefined) throw new Error("SDK sent no valid X-Sdk-Date");
  return d;
}

function verify(req: CapturedRequest, record: SecretRecord = { secretKey: SK }, now = dateOf(req)) {
  return verifySdkSignature({
    method: req.method,
    rawUrl: req.rawUrl,
    headers: req.headers,
    body: req.body,
    lookupSecret: lookup(record),
    now,
  });
}

function expectCode(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toMatchObject({ code });
}

describe("verifySdkSignature against the official SDK signer", () => {
  it("accepts GET with a query string of spaces, : / é ~ * and repeated names", async () => {
    const req = await wire.send(basic(), {
      method: "GET",
      url: "/v2/{project_id}/fgs/functions",
      queryParams: { package_name: "a b:c/é~*", marker: "0", tag: ["z", "a b"] },
    });
    expect(req.rawUrl).toContain("?");
    const out = verify(req);
    expect(out.accessKey).toBe(AK);
    expect(out.projectId).toBe(PROJECT);
  });

  it("accepts POST with a JSON body on a raw URN path with : and !", async () => {
    const req = await wire.send(basic(), {
      method: "POST",
      url: "/v2/{project_id}/fgs/functions/{function_urn}/invocations",
      pathParams: { function_urn: URN },
      data: { key: "välue", n: 1, nested: { a: [1, 2] } },
    });
    expect(req.rawUrl).toContain(":!prod");
    expect(req.body.length).toBeGreaterThan(0);
    expect(verify(req).accessKey).toBe(AK);
  });

  it("accepts the same request when the path arrives %3A/%21-encoded", async () => {
    const req = await wire.send(basic(), {
      method: "POST",
      url: "/v2/{project_id}/fgs/functions/{function_urn}/invocations",
      pathParams: { function_urn: URN },
      data: { a: 1 },
    });
    const encoded = { ...req, rawUrl: req.rawUrl.replaceAll(":", "%3A").replaceAll("!", "%21") };
    expect(encoded.rawUrl).not.toBe(req.rawUrl);
    expect(verify(encoded).accessKey).toBe(AK);
  });

  it("accepts DELETE", async () => {
    const req = await wire.send(basic(), {
      method: "DELETE",
      url: "/v2/{project_id}/fgs/functions/{function_urn}",
      pathParams: { function_urn: URN.replace("!prod", "latest") },
      data: {},
    });
    expect(req.method).toBe("DELETE");
    expect(verify(req).accessKey).toBe(AK);
  });

  it("accepts temporary credentials and checks X-Security-Token", async () => {
    const req = await wire.send(basic().withSecurityToken("temp-token-123"), {
      method: "GET",
      url: "/v2/{project_id}/fgs/functions",
    });
    expect(req.headers["x-security-token"]).toBe("temp-token-123");
    expect(verify(req, { secretKey: SK, securityToken: "temp-token-123" }).accessKey).toBe(AK);
    expectCode(() => verify(req, { secretKey: SK, securityToken: "another" }), "UNAUTHORIZED");

    const permanent = await wire.send(basic(), { url: "/v2/{project_id}/fgs/functions" });
    expectCode(() => verify(permanent, { secretKey: SK, securityToken: "x" }), "UNAUTHORIZED");
  });

  it("uses the signed X-Sdk-Content-Sha256 literal for non-JSON bodies", async () => {
    const req = await wire.send(basic(), {
      method: "PUT",
      url: "/v2/{project_id}/fgs/functions/{function_urn}/code",
      pathParams: { function_urn: URN },
      contentType: "application/octet-stream",
      data: Buffer.from("PK\u0003\u0004 binary"),
    });
    expect(req.headers["x-sdk-content-sha256"]).toBe("UNSIGNED-PAYLOAD");
    expect(verify(req).accessKey).toBe(AK);
  });

  it("returns the signed X-Domain-Id of GlobalCredentials", async () => {
    const cred = new GlobalCredentials().withAk(AK).withSk(SK).withDomainId("d".repeat(32));
    const req = await wire.send(cred, { url: "/v3/projects", queryParams: { name: "local-1" } });
    const out = verify(req);
    expect(out.domainId).toBe("d".repeat(32));
    expect(out.projectId).toBeUndefined();
  });

  it("accepts derived V11-HMAC-SHA256 signatures", async () => {
    const cred = basic()
      .withDerivedPredicate(() => true)
      .withRegionId("local-1");
    cred.processDerivedAuthParams("FunctionGraph", "local-1");
    const req = await wire.send(cred, {
      method: "POST",
      url: "/v2/{project_id}/fgs/functions/{function_urn}/invocations",
      pathParams: { function_urn: URN },
      data: { a: "b" },
    });
    expect(String(req.headers.authorization)).toMatch(/^V11-HMAC-SHA256 /);
    expect(verify(req).accessKey).toBe(AK);
    expectCode(() => verify({ ...req, body: Buffer.from('{"a":"c"}') }), "UNAUTHORIZED");
  });
});

describe("verifySdkSignature rejects", () => {
  let post: CapturedRequest;
  beforeAll(async () => {
    post = await wire.send(basic(), {
      method: "POST",
      url: "/v2/{project_id}/fgs/functions/{function_urn}/invocations",
      pathParams: { function_urn: URN },
      data: { key: "value" },
    });
    expect(verify(post).accessKey).toBe(AK);
  });

  it("a tampered body", () => {
    expectCode(() => verify({ ...post, body: Buffer.from('{"key":"valuf"}') }), "UNAUTHORIZED");
  });

  it("a tampered path", () => {
    const rawUrl = post.rawUrl.replace("!prod", "!dev");
    expectCode(() => verify({ ...post, rawUrl }), "UNAUTHORIZED");
  });

  it("a tampered query string", () => {
    expectCode(() => verify({ ...post, rawUrl: post.rawUrl + "?x=1" }), "UNAUTHORIZED");
  });

  it("a tampered signed header", () => {
    const headers = { ...post.headers, "x-project-id": "f".repeat(32) };
    expectCode(() => verify({ ...post, headers }), "UNAUTHORIZED");
    const host = { ...post.headers, host: "evil.example:80" };
    expectCode(() => verify({ ...post, headers: host }), "UNAUTHORIZED");
  });

  it("a wrong SK", () => {
    expectCode(() => verify(post, { secretKey: SK.replace("s", "t") }), "UNAUTHORIZED");
  });

  it("an unknown AK", () => {
    expectCode(
      () =>
        verifySdkSignature({
          ...post,
          lookupSecret: lookup({ secretKey: SK }, "ANOTHERACCESSKEY0000"),
          now: dateOf(post),
        }),
      "UNAUTHORIZED",
    );
  });

  it("a date 16 minutes off either way, but not 14", () => {
    const d = dateOf(post);
    expectCode(() => verify(post, undefined, d + 16 * 60_000), "UNAUTHORIZED");
    expectCode(() => verify(post, undefined, d - 16 * 60_000), "UNAUTHORIZED");
    expect(verify(post, undefined, d + 14 * 60_000).accessKey).toBe(AK);
  });

  it("a missing or malformed X-Sdk-Date", () => {
    const d = dateOf(post);
    const { "x-sdk-date": _date, ...noDate } = post.headers;
    expectCode(() => verify({ ...post, headers: noDate }, undefined, d), "UNAUTHORIZED");
    const bad = { ...post.headers, "x-sdk-date": "2024-01-01T00:00:00Z" };
    expectCode(() => verify({ ...post, headers: bad }, undefined, d), "UNAUTHORIZED");
  });

  it("malformed or missing Authorization headers", () => {
    const d = dateOf(post);
    for (const authorization of [
      undefined,
      "",
      "SDK-HMAC-SHA256 garbage",
      "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=abc",
      "Bearer xyz",
      String(post.headers.authorization).replace("SignedHeaders=", "SignedHeaders=Host;"),
    ]) {
      const headers = { ...post.headers, authorization };
      expectCode(() => verify({ ...post, headers }, undefined, d), "UNAUTHORIZED");
    }
  });
});

describe("parseSdkDate", () => {
  it("parses the SDK format and rejects impossible dates", () => {
    expect(parseSdkDate("20191115T033655Z")).toBe(Date.UTC(2019, 10, 15, 3, 36, 55));
    expect(parseSdkDate("20240231T000000Z")).toBeUndefined();
    expect(parseSdkDate("20240101T250000Z")).toBeUndefined();
    expect(parseSdkDate("20240101T000000")).toBeUndefined();
  });
});
