import { createHash, createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";
import {
  toCanonicalHeaders,
  toCanonicalQuery,
  toCanonicalUri,
} from "../../src/auth/sdk-canonical.js";
import { createBody, type TestPlatform } from "../helpers/platform.js";

/** A function that POSTs its event to the test's collector, then fails when asked to. */
export const REPORTER = {
  "index.js": `const http = require("http");
exports.handler = async (event, context) => {
  const body = JSON.stringify({ event, tag: process.env.TAG || "", requestId: context.getRequestID() });
  await new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: Number(process.env.COLLECTOR_PORT), method: "POST", path: "/", headers: { "content-type": "application/json" } }, (res) => { res.resume(); res.on("end", resolve); });
    req.on("error", reject);
    req.end(body);
  });
  if (process.env.FAIL === "1") throw new Error("failing on purpose");
  return { ok: true };
};`,
};

/** Collects what REPORTER functions send. */
export interface Collector {
  port: number;
  events: { event: Record<string, unknown>; tag: string; requestId: string }[];
  /** Resolves once `pred` holds over the events (polls; bounded). */
  waitFor(pred: (events: Collector["events"]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startCollector(): Promise<Collector> {
  const events: Collector["events"] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      events.push(
        JSON.parse(Buffer.concat(chunks).toString("utf8")) as Collector["events"][number],
      );
      res.end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    events,
    waitFor: async (pred, timeoutMs = 60_000) => {
      const until = Date.now() + timeoutMs;
      while (!pred(events)) {
        if (Date.now() > until)
          throw new Error(
            `collector: condition not met in ${timeoutMs} ms (${events.length} events)`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Helpers bound to one platform for trigger tests. */
export function triggersApi(t: TestPlatform) {
  const urn = (name: string, q = ""): string =>
    `urn:fss:local-1:${t.projectId}:function:default:${name}${q}`;
  const createFn = async (
    name: string,
    files: Record<string, string>,
    extra: Record<string, unknown> = {},
  ): Promise<void> => {
    const r = await t.api(
      "POST",
      t.v2("/fgs/functions"),
      await createBody(name, "Node.js20.15", files, extra),
    );
    expect(r.status, r.text).toBe(200);
  };
  const create = (fnUrn: string, body: Record<string, unknown>) =>
    t.api("POST", t.v2(`/fgs/triggers/${fnUrn}`), body);
  const mustCreate = async (fnUrn: string, body: Record<string, unknown>) => {
    const r = await create(fnUrn, body);
    expect(r.status, r.text).toBe(201);
    return r.json as TriggerModel;
  };
  /** A REPORTER function sending to `collector`, tagged, failing when `fail`. */
  const createReporter = (name: string, collector: Collector, tag = name, fail = false) =>
    createFn(name, REPORTER, {
      user_data: JSON.stringify({
        COLLECTOR_PORT: String(collector.port),
        TAG: tag,
        ...(fail ? { FAIL: "1" } : {}),
      }),
    });
  return { urn, createFn, createReporter, create, mustCreate };
}

export interface TriggerModel {
  trigger_id: string;
  trigger_type_code: string;
  trigger_status: string;
  event_data: Record<string, unknown>;
  created_time: string;
  last_updated_time: string;
}

export const errorCode = (r: { json: unknown }): string =>
  (r.json as { error_code?: string } | undefined)?.error_code ?? "";

/** SDK-HMAC-SHA256 headers for a request (the signing APIG uses for IAM AK/SK and APP keys). */
export function signHeaders(
  key: string,
  secret: string,
  req: { method: string; url: string; host: string; body?: Buffer | string },
): Record<string, string> {
  const date = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
  const u = new URL(req.url);
  const headers: Record<string, string> = { host: req.host, "x-sdk-date": date };
  const signed = Object.keys(headers).sort();
  const body = req.body ?? "";
  const canonical = [
    req.method,
    toCanonicalUri(u.pathname),
    toCanonicalQuery(u.search.slice(1)),
    toCanonicalHeaders(headers, signed),
    signed.join(";"),
    createHash("sha256").update(body).digest("hex"),
  ].join("\n");
  const toSign = [
    "SDK-HMAC-SHA256",
    date,
    createHash("sha256").update(canonical).digest("hex"),
  ].join("\n");
  const sig = createHmac("sha256", secret).update(toSign).digest("hex");
  return {
    "X-Sdk-Date": date,
    Authorization: `SDK-HMAC-SHA256 Access=${key}, SignedHeaders=${signed.join(";")}, Signature=${sig}`,
  };
}
