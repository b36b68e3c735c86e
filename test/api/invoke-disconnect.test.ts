import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deployFunction,
  fixtureFiles,
  startTestPlatform,
  type TestPlatform,
} from "../helpers/platform.js";

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
  await deployFunction(t, "slow", "Node.js20.15", fixtureFiles("node-slow"), { timeout: 60 });
});
afterAll(async () => {
  await t.close();
});

const instances = async (): Promise<number> => {
  const h = await t.api("GET", "/healthz");
  return (h.json as { invoker: { instances: number } }).invoker.instances;
};

async function until(fn: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return fn();
}

describe("a client that goes away", () => {
  it("has its call cancelled, on every connection that carried calls before", async () => {
    // Keep-alive calls first: the connection's abort signal has already served calls.
    const url = new URL(t.endpoint + t.v2("/fgs/functions/slow/invocations"));
    const agent = new (await import("node:http")).Agent({ keepAlive: true, maxSockets: 1 });
    const post = (ms: number) =>
      httpRequest(url, {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "x-auth-token": t.token },
      }).end(JSON.stringify({ ms }));
    for (let i = 0; i < 2; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = post(1);
        req.on("response", (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", reject);
      });
      expect(status).toBe(200);
    }
    expect(await instances()).toBe(1);

    // A 50 s call on the same connection, then the client drops the connection.
    const req = post(50_000);
    req.on("error", () => {});
    await new Promise((r) => setTimeout(r, 500));
    req.destroy();
    agent.destroy();
    // The cancelled call's instance is killed (4208): it does not run on for 50 s.
    expect(await until(async () => (await instances()) === 0, 10_000)).toBe(true);

    // The function still serves new callers.
    const next = await t.api("POST", t.v2("/fgs/functions/slow/invocations"), { ms: 1 });
    expect(next.status).toBe(200);
    expect(next.json).toEqual({ slept: 1 });
    expect(next.headers["x-cff-request-id"]).toBe(next.headers["x-request-id"]);
  });
});

describe("pipelined requests", () => {
  it("are all answered on one connection, without an abort-listener leak warning", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(`${w.name}: ${w.message}`);
    };
    process.on("warning", onWarning);
    try {
      const url = new URL(t.endpoint);
      const body = JSON.stringify({ ms: 300 });
      const one =
        `POST ${t.v2("/fgs/functions/slow/invocations")} HTTP/1.1\r\nHost: ${url.host}\r\n` +
        `Content-Type: application/json\r\nX-Auth-Token: ${t.token}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      const socket = connect(Number(url.port), url.hostname);
      let text = "";
      socket.on("data", (d: Buffer) => (text += d.toString("utf8")));
      socket.write(one.repeat(12));
      const count = () => (text.match(/HTTP\/1\.1 200 /g) ?? []).length;
      const end = Date.now() + 20_000;
      while (count() < 12 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      socket.destroy();
      expect(count()).toBe(12);
      expect((text.match(/\{"slept":300\}/g) ?? []).length).toBe(12);
      await new Promise((r) => setTimeout(r, 50));
      expect(warnings.filter((w) => /MaxListeners/.test(w))).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });
});
