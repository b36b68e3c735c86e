import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, startTestPlatform, type TestPlatform } from "../helpers/platform.js";
import { errorCode, signHeaders, triggersApi, type TriggerModel } from "./helpers.js";

/** An APIG-shaped function: echoes its event, or answers what the path asks for. */
const APIG_FN = {
  "index.js": `exports.handler = async (event, context) => {
  if (event.path.endsWith("/binary")) {
    return { statusCode: 201, headers: { "content-type": "application/octet-stream" }, body: Buffer.from([0, 1, 2, 250, 255]).toString("base64"), isBase64Encoded: true };
  }
  if (event.path.endsWith("/nostatus")) return { body: "no status here" };
  if (event.path.endsWith("/slow")) { await new Promise((r) => setTimeout(r, 3000)); }
  return { statusCode: Number(event.queryStringParameters.status || 200), headers: { "Content-Type": "application/json", "X-Custom": ["a", "b"] }, body: JSON.stringify({ event, version: context.getVersion() }), isBase64Encoded: false };
};`,
};

let t: TestPlatform;
let api: ReturnType<typeof triggersApi>;
let gw: string;
const created: Record<string, TriggerModel> = {};

const apig = (path: string, extra: Record<string, unknown> = {}) => ({
  trigger_type_code: "APIG",
  event_data: {
    name: `API_${path.replace(/[^A-Za-z0-9]/g, "_")}`.slice(0, 60),
    path,
    req_method: "ANY",
    match_mode: "NORMAL",
    auth: "NONE",
    func_info: { timeout: 30000, invocation_type: "sync" },
    ...extra,
  },
});

type Echo = {
  event: Record<string, unknown> & {
    headers: Record<string, string>;
    requestContext: Record<string, string>;
    pathParameters: Record<string, string>;
  };
  version: string;
};

beforeAll(async () => {
  t = await startTestPlatform();
  api = triggersApi(t);
  gw = t.platform.credentials.gateway_endpoint;
  await api.createFn("gw-fn", APIG_FN);
  const urn = api.urn("gw-fn");
  const specs: Record<string, Record<string, unknown>> = {
    items: apig("/gw/items/{id}", { req_method: "GET" }),
    upload: apig("/gw/upload", { req_method: "POST" }),
    prefix: apig("/gw/prefix", { match_mode: "SWA" }),
    nostatus: apig("/gw/nostatus"),
    binary: apig("/gw/binary"),
    iam: apig("/gw/iam", { auth: "IAM" }),
    app: apig("/gw/app", { auth: "APP" }),
    async: apig("/gw/async", { func_info: { invocation_type: "async", timeout: 5000 } }),
    slow: apig("/gw/slow", { func_info: { timeout: 1000 } }),
    off: apig("/gw/off"),
  };
  for (const [k, body] of Object.entries(specs)) created[k] = await api.mustCreate(urn, body);
  const off = await t.api("PUT", t.v2(`/fgs/triggers/${urn}/APIG/${created["off"]!.trigger_id}`), {
    trigger_status: "DISABLED",
  });
  expect(off.status, off.text).toBe(200);
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe("APIG gateway", () => {
  it("routes with path parameters and builds the contract's event", async () => {
    expect(created["items"]!.event_data["invoke_url"]).toBe(`${gw}/gw/items/{id}`);
    const r = await call(gw, "GET", "/gw/items/42?status=203&q=a&q=b", undefined, {
      "X-Hello": "World",
    });
    expect(r.status, r.text).toBe(203);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.headers["x-custom"]).toBe("a,b");
    const { event, version } = r.json as Echo;
    expect(version).toBe("latest");
    expect(event).toMatchObject({
      httpMethod: "GET",
      path: "/gw/items/42",
      pathParameters: { id: "42" },
      queryStringParameters: { status: "203", q: "a,b" },
      isBase64Encoded: true,
      body: "",
      requestContext: {
        apiId: created["items"]!.event_data["api_id"],
        stage: "RELEASE",
        sourceIp: "127.0.0.1",
      },
    });
    expect(event["headers"]["x-hello"]).toBe("World");
    expect(event["requestContext"]["requestId"]).toBe(r.headers["x-request-id"]);
  });

  it("passes binary bodies as base64 both ways", async () => {
    const bytes = randomBytes(4096);
    const r = await call(gw, "POST", "/gw/upload", bytes, {
      "content-type": "application/octet-stream",
    });
    expect(r.status, r.text).toBe(200);
    expect(Buffer.from((r.json as Echo).event["body"] as string, "base64").equals(bytes)).toBe(
      true,
    );
    const b = await call(gw, "GET", "/gw/binary");
    expect(b.status).toBe(201);
    expect([...b.body]).toEqual([0, 1, 2, 250, 255]);
  });

  it("matches SWA routes by prefix", async () => {
    const r = await call(gw, "DELETE", "/gw/prefix/a/b%20c");
    expect(r.status, r.text).toBe(200);
    expect((r.json as Echo).event["pathParameters"]).toEqual({ "": "a/b c" });
    expect((await call(gw, "GET", "/gw/prefix")).status).toBe(200);
  });

  it("answers 404, 405, 413, 500 FSS.1202 and 504", async () => {
    const nf = await call(gw, "GET", "/gw/nowhere");
    expect([nf.status, errorCode(nf)]).toEqual([404, "FSS.0404"]);
    const off = await call(gw, "GET", "/gw/off");
    expect(off.status).toBe(404);
    const wrong = await call(gw, "PUT", "/gw/items/1");
    expect(wrong.status).toBe(405);
    expect(wrong.headers["allow"]).toBe("GET");
    const big = await call(gw, "POST", "/gw/upload", Buffer.alloc(6 * 1024 * 1024 + 1));
    expect([big.status, errorCode(big)]).toEqual([413, "FSS.1201"]);
    const ns = await call(gw, "GET", "/gw/nostatus");
    expect([ns.status, errorCode(ns)]).toEqual([500, "FSS.1202"]);
    const slow = await call(gw, "GET", "/gw/slow");
    expect([slow.status, errorCode(slow)]).toEqual([504, "FSS.0504"]);
  });

  it("refuses a second trigger on the same path and method, in any function", async () => {
    await api.createFn("gw-fn2", APIG_FN);
    const r = await api.create(api.urn("gw-fn2"), apig("/gw/items/{other}", { req_method: "ANY" }));
    expect([r.status, errorCode(r)]).toEqual([409, "FSS.1147"]);
  });

  it("IAM auth takes a token or an AK/SK signature", async () => {
    const none = await call(gw, "GET", "/gw/iam");
    expect([none.status, errorCode(none)]).toEqual([401, "FSS.0401"]);
    const tok = await call(gw, "GET", "/gw/iam", undefined, { "X-Auth-Token": t.token });
    expect(tok.status, tok.text).toBe(200);
    const bad = await call(gw, "GET", "/gw/iam", undefined, { "X-Auth-Token": "nope" });
    expect(bad.status).toBeGreaterThanOrEqual(401);
    const c = t.platform.credentials;
    const host = new URL(gw).host;
    const signed = signHeaders(c.access_key, c.secret_key, {
      method: "GET",
      url: `${gw}/gw/iam?x=1`,
      host,
    });
    const ak = await call(gw, "GET", "/gw/iam?x=1", undefined, signed);
    expect(ak.status, ak.text).toBe(200);
  });

  it("APP auth takes the issued AppCode or an app key/secret signature", async () => {
    const ed = created["app"]!.event_data;
    expect(ed["app_key"]).toMatch(/^[0-9a-f]{32}$/);
    const none = await call(gw, "GET", "/gw/app");
    expect(none.status).toBe(401);
    const wrong = await call(gw, "GET", "/gw/app", undefined, { "X-Apig-AppCode": "nope" });
    expect(wrong.status).toBe(401);
    const code = await call(gw, "GET", "/gw/app", undefined, {
      "X-Apig-AppCode": String(ed["app_code"]),
    });
    expect(code.status, code.text).toBe(200);
    const body = '{"hello":"app"}';
    const signed = signHeaders(String(ed["app_key"]), String(ed["app_secret"]), {
      method: "POST",
      url: `${gw}/gw/app`,
      host: new URL(gw).host,
      body,
    });
    const sig = await call(gw, "POST", "/gw/app", body, signed);
    expect(sig.status, sig.text).toBe(200);
    const iamToken = await call(gw, "GET", "/gw/app", undefined, { "X-Auth-Token": t.token });
    expect(iamToken.status).toBe(401);
  });

  it("queues async APIG calls (202 with a request id)", async () => {
    const r = await call(gw, "POST", "/gw/async", "{}");
    expect(r.status, r.text).toBe(202);
    const id = (r.json as { request_id: string }).request_id;
    expect(r.headers["x-cff-request-id"]).toBe(id);
    const urn = api.urn("gw-fn");
    for (let i = 0; i < 600; i++) {
      const rec = await t.api(
        "GET",
        t.v2(`/fgs/functions/${urn}/async-invocations?request_id=${id}`),
      );
      const inv = (rec.json as { invocations?: { status: string }[] }).invocations ?? [];
      if (inv[0]?.status === "SUCCESS") return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error("async APIG call never succeeded");
  });
});
