import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { request } from "undici";
import { createApp } from "../../src/api/app.js";
import { createFastInvoke, type FastInvokeDeps } from "../../src/api/fast-invoke.js";
import { FsError } from "../../src/core/errors.js";
import { silentLogger } from "../../src/core/logger.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deployFunction,
  fixtureFiles,
  startTestPlatform,
  type TestPlatform,
} from "../helpers/platform.js";

// Plain sync invocations are served by src/api/fast-invoke.ts before Fastify; anything unusual (a
// query string, a chunked body) falls through to the Fastify route. Both must answer alike.

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
  await deployFunction(t, "echo", "Node.js20.15", fixtureFiles("node-echo"));
  await deployFunction(t, "throw", "Node.js20.15", fixtureFiles("node-throw"));
});
afterAll(async () => {
  await t.close();
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

async function call(
  p: string,
  body: string | Readable,
  headers: Record<string, string> = { "x-auth-token": t.token },
): Promise<Answer> {
  const r = await request(t.endpoint + p, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) out[k] = String(v);
  return { status: r.statusCode, headers: out, body: await r.body.text() };
}

/** What must match between two answers: all but the per-call ids, timings and date. */
function comparable(a: Answer): Answer {
  const headers = { ...a.headers };
  expect(headers["date"]).toBeDefined();
  expect(headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  for (const k of ["date", "x-request-id", "x-cff-request-id", "x-cff-invoke-summary"]) {
    delete headers[k];
  }
  // The billed duration is the call's own (1 ms for most echoes, more on a busy machine).
  if (headers["x-cff-billing-duration"] !== undefined) {
    expect(Number(headers["x-cff-billing-duration"])).toBeGreaterThanOrEqual(1);
    headers["x-cff-billing-duration"] = "<ms>";
  }
  return { ...a, headers };
}

const path = (name: string): string => t.v2(`/fgs/functions/${name}/invocations`);

describe("the invoke fast path", () => {
  it("answers a call, a function error, an unknown function and a missing token as Fastify does", async () => {
    const cases: [string, string, Record<string, string> | undefined][] = [
      ["echo", '{"a":1}', undefined],
      ["echo", "plain", undefined],
      ["throw", "{}", undefined],
      ["ghost", "{}", undefined],
      ["echo", "{}", {}],
      ["echo", "{}", { "x-auth-token": "not-a-token" }],
    ];
    for (const [name, body, headers] of cases) {
      // The query string sends the same call through Fastify's route.
      const fast = await call(path(name), body, headers);
      const slow = await call(`${path(name)}?via=fastify`, body, headers);
      expect(comparable(fast), `${name} ${body}`).toEqual(comparable(slow));
    }
    const ok = await call(path("echo"), '{"a":1}');
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('{"a":1}');
    expect(ok.headers["x-request-id"]).toBe(ok.headers["x-cff-request-id"]);
    const missing = await call(path("echo"), "{}", {});
    expect(missing.status).toBe(401);
    expect((JSON.parse(missing.body) as { error_code: string }).error_code).toBe("FSS.0401");
    const ghost = await call(path("ghost"), "{}");
    expect(ghost.status).toBe(404);
    expect(JSON.parse(ghost.body)).toMatchObject({ error_code: "FSS.1051" });
  });

  it("takes a percent-encoded URN, and a chunked body through Fastify", async () => {
    const urn = `urn:fss:${t.platform.credentials.region}:${t.projectId}:function:default:echo:latest`;
    const encoded = await call(path(encodeURIComponent(urn)), '{"b":2}');
    expect(encoded.status).toBe(200);
    expect(encoded.body).toBe('{"b":2}');
    const chunked = await call(path("echo"), Readable.from(['{"c":', "3}"]));
    expect(chunked.status).toBe(200);
    expect(chunked.body).toBe('{"c":3}');
  });

  it("leaves a request that repeats a header to Fastify, which answers it alike", async () => {
    const headers = ["x-auth-token", t.token, "x-trace", "a", "X-Trace", "b"];
    const r = await request(t.endpoint + path("echo"), { method: "POST", headers, body: "{}" });
    expect(r.statusCode).toBe(200);
    expect(await r.body.text()).toBe("{}");
  });

  it("never answers from a function that is gone, or from the code it had", async () => {
    const files = (n: number) => ({ "index.js": `exports.handler = async () => ({ n: ${n} });` });
    const latest = path(
      encodeURIComponent(
        `urn:fss:${t.platform.credentials.region}:${t.projectId}:function:default:again:latest`,
      ),
    );
    await deployFunction(t, "again", "Node.js20.15", files(1));
    expect((await call(path("again"), "{}")).body).toBe('{"n":1}');
    expect((await call(latest, "{}")).body).toBe('{"n":1}');
    const del = await t.api("DELETE", t.v2("/fgs/functions/again"));
    expect(del.status).toBe(204);
    const gone = await call(path("again"), "{}");
    expect(gone.status).toBe(404);
    expect(JSON.parse(gone.body)).toMatchObject({ error_code: "FSS.1051" });
    expect((await call(latest, "{}")).status).toBe(404);
    await deployFunction(t, "again", "Node.js20.15", files(2));
    expect((await call(path("again"), "{}")).body).toBe('{"n":2}');
    expect((await call(latest, "{}")).body).toBe('{"n":2}');
  });

  it("keeps the connection for the next call, as Fastify's server did", async () => {
    const a = await call(path("echo"), "{}");
    expect(a.headers["connection"]).toBe("keep-alive");
    expect(a.headers["keep-alive"]).toBe("timeout=72");
    // The server the app makes for itself has Fastify's timeouts, not Node's.
    const app = createApp({ logger: silentLogger, fastRoute: () => false });
    expect([app.server.keepAliveTimeout, app.server.requestTimeout]).toEqual([72_000, 0]);
    await app.close();
  });
});

describe("which requests the fast path takes", () => {
  it("takes plain invocations and leaves every other request to Fastify", async () => {
    // Every request it takes fails authorization here (401); the rest get "fastify".
    const fast = createFastInvoke({
      logger: silentLogger,
      authorize: () => {
        throw new FsError("UNAUTHORIZED", "no");
      },
      invoke: {} as FastInvokeDeps["invoke"],
    });
    const server = http.createServer((req, res) => {
      if (fast(req, res)) return;
      req.resume();
      req.on("end", () => res.end("fastify"));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const send = async (
      method: string,
      p: string,
      body?: string | Readable,
      headers?: readonly string[],
    ) => {
      const r = await request(origin + p, { method, body, headers: headers ? [...headers] : [] });
      return { status: r.statusCode, text: await r.body.text() };
    };
    try {
      const plain = "/v2/p1/fgs/functions/urn%3Afss%3Ar%3Ap1%3Afunction%3Adefault%3Af/invocations";
      const taken = await send("POST", plain, "{}");
      expect(taken.status).toBe(401);
      expect(JSON.parse(taken.text)).toEqual({ error_code: "FSS.0401", error_msg: "no" });
      expect((await send("POST", "/v2/p1/fgs/functions/f/invocations", "")).status).toBe(401);
      for (const [method, p, body, headers] of [
        ["GET", "/v2/p1/fgs/functions/f/invocations", undefined],
        ["POST", "/v2/p1/fgs/functions/f/invocations?x=1", "{}"],
        ["POST", "/v2/p1/fgs/functions/f/invocations/", "{}"],
        ["POST", "/v2/p1/fgs/functions//invocations", "{}"],
        ["POST", "/v2//fgs/functions/f/invocations", "{}"],
        ["POST", "/v2/p1/fgs/functions/f%zz/invocations", "{}"],
        ["POST", `/v2/p1/fgs/functions/${"f".repeat(1025)}/invocations`, "{}"],
        ["POST", "/v2/p1/fgs/functions/f/invocations-async", "{}"],
        ["POST", "/v2/p1/fgs/functions/f/invocations", Readable.from(["{", "}"])],
        // A repeated header (node joins some, drops others) and a name no plain object takes.
        ["POST", "/v2/p1/fgs/functions/f/invocations", "{}", ["x-a", "1", "X-A", "2"]],
        ["POST", "/v2/p1/fgs/functions/f/invocations", "{}", ["__proto__", "1"]],
        ["POST", "/v2/p1/fgs/functions/f/invocations", "x".repeat(6 * 1024 * 1024 + 1)],
      ] as const) {
        const r = await send(method, p, body, headers);
        expect(r.text, `${method} ${p.slice(0, 60)}`).toBe("fastify");
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
