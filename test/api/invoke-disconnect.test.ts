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

const summaryOf = (headers: Record<string, unknown>): { coldStart?: boolean } =>
  JSON.parse(String(headers["x-cff-invoke-summary"])) as { coldStart?: boolean };

const health = async (): Promise<{ instances: number; queued: number }> => {
  const h = await t.api("GET", "/healthz");
  return (h.json as { invoker: { instances: number; queued: number } }).invoker;
};

describe("a client that goes away", () => {
  it("leaves its running call to run to its end, and the instance warm for the next caller", async () => {
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

    // A 2 s call on the same connection, then the client drops the connection.
    const req = post(2000);
    req.on("error", () => {});
    await new Promise((r) => setTimeout(r, 300));
    req.destroy();
    agent.destroy();
    await new Promise((r) => setTimeout(r, 200));
    // The call runs on (concurrent_num 1): its instance is still there and still busy, so a
    // caller now gets a second instance.
    expect(await instances()).toBe(1);
    const meanwhile = await t.api("POST", t.v2("/fgs/functions/slow/invocations"), { ms: 1 });
    expect(meanwhile.status).toBe(200);
    expect(summaryOf(meanwhile.headers).coldStart).toBe(true);
    expect(await instances()).toBe(2);

    // Once the call has ended, both instances serve warm calls; none was stopped.
    await new Promise((r) => setTimeout(r, 2000));
    const [a, b] = await Promise.all([
      t.api("POST", t.v2("/fgs/functions/slow/invocations"), { ms: 300 }),
      t.api("POST", t.v2("/fgs/functions/slow/invocations"), { ms: 300 }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.json).toEqual({ slept: 300 });
    expect([summaryOf(a.headers).coldStart, summaryOf(b.headers).coldStart]).toEqual([
      false,
      false,
    ]);
    expect(await instances()).toBe(2);
    expect(a.headers["x-cff-request-id"]).toBe(a.headers["x-request-id"]);
  });

  it("takes its call out of the queue while the call waits for an instance", async () => {
    await deployFunction(t, "slow-one", "Node.js20.15", fixtureFiles("node-slow"), {
      timeout: 60,
      strategy_config: { concurrency: 1, concurrent_num: 1 },
    });
    const before = (await health()).instances;
    const busy = t.api("POST", t.v2("/fgs/functions/slow-one/invocations"), { ms: 4000 });
    expect(await until(async () => (await health()).instances === before + 1, 10_000)).toBe(true);
    // The one instance is busy: this call waits in the queue until its client leaves.
    const url = new URL(t.endpoint + t.v2("/fgs/functions/slow-one/invocations"));
    const queued = httpRequest(url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-auth-token": t.token },
    });
    queued.on("error", () => {});
    queued.end(JSON.stringify({ ms: 1 }));
    expect(await until(async () => (await health()).queued === 1, 5000)).toBe(true);
    queued.destroy();
    // Well before the busy call ends (it would take the instance then).
    expect(await until(async () => (await health()).queued === 0, 1500)).toBe(true);
    expect((await busy).status).toBe(200);
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
