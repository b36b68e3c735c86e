import type { FastifyInstance, FastifyRequest } from "fastify";
import { setMaxListeners } from "node:events";
import type { Socket } from "node:net";
import { FsError } from "../../core/errors.js";
import type { Invoker } from "../../invoker/invoker.js";
import { logTail, resultLog } from "../../invoker/log-format.js";
import type { InvokeResult } from "../../invoker/types.js";
import { headerMap } from "../app.js";
import type { FunctionService } from "../function-service.js";
import { parseInstanceMemory } from "../validate.js";

/** Sync request and response payloads are limited to 6 MB (contract §5). */
export const MAX_SYNC_EVENT_BYTES = 6 * 1024 * 1024;

export interface InvokeRouteDeps {
  functions: FunctionService;
  invoker: Invoker;
}

type P = { project_id: string; urn: string };

/** One sync invocation as the API received it (Fastify's route or the fast path). */
export interface InvokeRequest {
  projectId: string;
  /** The path's URN or name, percent-decoded. */
  urn: string;
  /** Lower-cased, single-valued. */
  headers: Record<string, string>;
  body: Buffer;
  requestId: string;
  socket: Socket;
}

/** What goes back: the response headers (besides X-Request-Id) and the body. */
export interface InvokeReply {
  headers: Record<string, string>;
  body: string;
}

/** InvokeFunction (contract §1.5.1): the body limit, alias routing, the call, its headers. */
export async function handleInvoke(deps: InvokeRouteDeps, r: InvokeRequest): Promise<InvokeReply> {
  if (r.body.length > MAX_SYNC_EVENT_BYTES) {
    throw new FsError(
      "INVOKE_BODY_TOO_LARGE",
      `the request body exceeds ${MAX_SYNC_EVENT_BYTES} bytes`,
    );
  }
  const headers = r.headers;
  const responseVersion =
    (headers["x-cff-request-version"] ?? "v0").toLowerCase() === "v1" ? "v1" : "v0";
  const wantTail = (headers["x-cff-log-type"] ?? "").toLowerCase() === "tail";
  // Through an alias, its header rules and weights pick the version (contract §1.6).
  const target =
    deps.functions.resolveDirect(r.projectId, r.urn) ??
    (await deps.functions.resolve(r.projectId, r.urn, { headers }));
  const memoryMb = parseInstanceMemory(
    headers,
    target.version.extra["enable_dynamic_memory"] === true,
  );
  const result = await deps.invoker.invoke({
    target: { fn: target.fn, version: target.version, alias: target.alias },
    event: r.body.toString("utf8"),
    // The API request id (X-Request-Id) names the invocation too.
    requestId: r.requestId,
    kind: "sync",
    headers,
    ...(memoryMb ? { memoryMb } : {}),
    callerGone: connectionSignal(r.socket),
  });
  const out = invokeHeaders(result, responseVersion, wantTail);
  if (responseVersion === "v1") {
    out["content-type"] = JSON_TYPE;
    const body = JSON.stringify({
      request_id: result.requestId,
      result: result.body,
      log: wantTail ? logTail(resultLog(result)) : "",
      status: result.ok ? 200 : result.errorCode,
    });
    return { headers: out, body };
  }
  out["content-type"] = looksLikeJson(result.body) ? JSON_TYPE : TEXT_TYPE;
  return { headers: out, body: result.body };
}

export const JSON_TYPE = "application/json; charset=utf-8";
const TEXT_TYPE = "text/plain; charset=utf-8";

/** The Fastify route; the API server's fast path (fast-invoke.ts) serves most calls before it. */
export function registerInvokeRoutes(app: FastifyInstance, deps: InvokeRouteDeps): void {
  app.post("/fgs/functions/:urn/invocations", async (req: FastifyRequest, reply) => {
    const p = req.params as P;
    const r = await handleInvoke(deps, {
      projectId: p.project_id,
      urn: p.urn,
      headers: headerMap(req),
      body: req.rawBody,
      requestId: req.id,
      socket: req.raw.socket,
    });
    return reply.headers(r.headers).send(r.body);
  });
}

const connectionAborts = new WeakMap<Socket, AbortController>();

/**
 * Aborted when the client's connection closes: its calls still waiting for an instance leave the
 * queue (running ones run on). One per connection, not per request: every call on a connection
 * ends with it, and a new AbortSignal per call was ~3 % of the server's CPU on the warm path.
 */
function connectionSignal(socket: Socket): AbortSignal {
  let c = connectionAborts.get(socket);
  if (!c) {
    const controller = new AbortController();
    // Pipelined requests put several calls on one connection: no leak warning for their listeners.
    setMaxListeners(0, controller.signal);
    connectionAborts.set(socket, controller);
    if (socket.destroyed) controller.abort();
    else socket.once("close", () => controller.abort());
    c = controller;
  }
  return c.signal;
}

function invokeHeaders(
  r: InvokeResult,
  version: string,
  wantTail: boolean,
): Record<string, string> {
  const h: Record<string, string> = {
    "x-cff-request-id": r.requestId,
    "x-cff-invoke-summary": invokeSummary(r),
    "x-cff-billing-duration": String(r.billingMs),
    "x-cff-response-version": version,
    "x-func-err-code": String(r.errorCode),
    "x-is-func-err": String(!r.ok && r.isFuncErr),
  };
  if (wantTail)
    h["x-cff-function-log"] = Buffer.from(logTail(resultLog(r)), "utf8").toString("base64");
  return h;
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;
/** A number as JSON writes it. */
const jsonNumber = (n: number): string => (Number.isFinite(n) ? String(n) : "null");

/**
 * The X-Cff-Invoke-Summary header: the text JSON.stringify gives of
 * `{duration, billingDuration, memorySize, memoryUsed, coldStart, timings}` (durations rounded
 * to the µs), written by hand: JSON.stringify was ~3 % of the event loop's CPU on a warm call.
 */
export function invokeSummary(r: InvokeResult): string {
  let timings = "";
  const t = r.timings as unknown as Record<string, number | undefined>;
  // The keys are InvokeTimings' own names: nothing in them to escape.
  for (const k in t) {
    const v = t[k];
    if (v !== undefined) timings += `${timings ? "," : ""}"${k}":${jsonNumber(v)}`;
  }
  return (
    `{"duration":${jsonNumber(round3(r.durationMs))},"billingDuration":${jsonNumber(r.billingMs)},` +
    `"memorySize":${jsonNumber(r.memorySize)},"memoryUsed":${jsonNumber(round3(r.memoryUsedMb))},` +
    `"coldStart":${r.coldStart ? "true" : "false"},"timings":{${timings}}}`
  );
}

function looksLikeJson(s: string): boolean {
  const c = s.trimStart()[0];
  return c === "{" || c === "[";
}
