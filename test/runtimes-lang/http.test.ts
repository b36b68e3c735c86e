import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, startTestPlatform, type TestPlatform } from "../helpers/platform.js";
import { createFunction, fixtureWithModes, invoke } from "./helpers.js";

// HTTP functions (contract §3.10): the bootstrap's server on 127.0.0.1:8000 in each instance's
// own network namespace; APIG events in, APIG results (base64 body, header arrays) out.
let t: TestPlatform;
let outside: http.Server;
let outsideUrl = "";
const hostIp = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === "IPv4" && !a.internal)?.address;

beforeAll(async () => {
  t = await startTestPlatform();
  const strategy = { strategy_config: { concurrency: 4, concurrent_num: 1 } };
  const env = { user_data: JSON.stringify({ greeting: "servus" }) };
  await createFunction(t, "http-node", "http", fixtureWithModes("http-node"), {
    handler: "bootstrap",
    ...strategy,
    ...env,
  });
  await createFunction(t, "http-py", "http", fixtureWithModes("http-python"), {
    handler: "bootstrap",
    ...strategy,
    ...env,
  });
  // A server outside the sandbox on a non-loopback address: the functions' egress target.
  outside = http.createServer((_req, res) => res.end("from outside"));
  await new Promise<void>((r) => outside.listen(0, "0.0.0.0", r));
  outsideUrl = `http://${hostIp}:${(outside.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  await t.close();
  await new Promise((r) => outside.close(r));
});

interface Inner {
  [k: string]: unknown;
  headers: Record<string, string>;
}
interface Wrapped {
  statusCode: number;
  headers: Record<string, string[]>;
  body: string;
  isBase64Encoded: boolean;
}
const apigEvent = (path: string, query: Record<string, string>, body = "") => ({
  httpMethod: "POST",
  path,
  queryStringParameters: query,
  headers: { "content-type": "text/plain", "x-hello": "world" },
  pathParameters: {},
  requestContext: { apiId: "x", requestId: "r", stage: "RELEASE" },
  body: Buffer.from(body).toString("base64"),
  isBase64Encoded: true,
});
const unwrap = (r: { json: unknown }) => {
  const w = r.json as Wrapped;
  return { w, inner: JSON.parse(Buffer.from(w.body, "base64").toString()) as Inner };
};

describe.each([
  ["http-node", "node"],
  ["http-py", "python"],
])("http function %s", (name, runtime) => {
  it("turns an APIG event into a real request and wraps the response", async () => {
    const r = await invoke(t, name, apigEvent("/items/7", { q: "1" }, "payload"));
    expect(r.status, r.text).toBe(200);
    const { w, inner } = unwrap(r);
    expect(w.isBase64Encoded).toBe(true);
    expect(w.statusCode).toBe(runtime === "node" ? 201 : 200);
    expect(w.headers["Content-Type"] ?? w.headers["content-type"]).toEqual(["application/json"]);
    expect(inner).toMatchObject({
      runtime,
      method: "POST",
      path: "/items/7",
      query: { q: "1" },
      body: "payload",
      greeting: "servus",
    });
    expect(inner["headers"]).toMatchObject({
      "x-hello": "world",
      "x-cff-request-id": r.headers["x-cff-request-id"],
      "x-cff-func-name": name,
      "x-cff-memory": "128",
      "x-cff-timeout": "10",
      "x-cff-func-version": "latest",
      "x-cff-package": "default",
    });
  });

  it("serves several instances at once, each on port 8000", async () => {
    // The warm instance takes the first call; a new one must be up before the warm one could
    // take the third (2 × sleep). A cold http-py start took 0.6-0.8 s alone and over 1.4 s once
    // while the whole suite ran (a 700 ms sleep then saw one instance serve all three).
    const rs = await Promise.all(
      [0, 1, 2].map(() => invoke(t, name, apigEvent("/slow", { sleep: "1500" }))),
    );
    const instances = new Set(rs.map((r) => unwrap(r).inner["instance"] as string));
    for (const r of rs) expect(unwrap(r).w.statusCode).toBeLessThan(300);
    expect(instances.size).toBeGreaterThanOrEqual(2);
  });
});

describe("http function network", () => {
  it.skipIf(!hostIp)("reaches the outside but not the host's loopback", async () => {
    const out = await invoke(t, "http-node", apigEvent("/", { fetch: outsideUrl }));
    expect(unwrap(out).inner["fetched"]).toEqual({ status: 200, text: "from outside" });
    const platformPort = new URL(t.endpoint).port;
    const loop = await invoke(
      t,
      "http-node",
      apigEvent("/", { fetch: `http://127.0.0.1:${platformPort}/` }),
    );
    expect(unwrap(loop).inner["fetched"]).toEqual({ error: "ECONNREFUSED" });
  });

  it("is reachable through an APIG trigger as real HTTP", async () => {
    const urn = `urn:fss:local-1:${t.projectId}:function:default:http-node`;
    const tr = await t.api("POST", t.v2(`/fgs/triggers/${urn}`), {
      trigger_type_code: "APIG",
      event_data: {
        name: "API_http_node",
        path: "/web",
        req_method: "ANY",
        match_mode: "SWA",
        auth: "NONE",
        func_info: { timeout: 10000, invocation_type: "sync" },
      },
    });
    expect(tr.status, tr.text).toBe(201);
    const gw = t.platform.credentials.gateway_endpoint;
    const r = await call(gw, "PUT", "/web/deeper?x=y", "hello", { "X-Test": "1" });
    expect(r.status, r.text).toBe(201);
    expect(r.headers["x-custom"]).toBe("yes");
    const inner = r.json as Inner;
    expect(inner).toMatchObject({ method: "PUT", path: "/web/deeper", query: { x: "y" } });
    expect(inner["body"]).toContain("hello");
    expect(inner["headers"]["x-test"]).toBe("1");
  });
});
