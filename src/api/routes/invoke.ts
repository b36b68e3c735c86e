import type { FastifyInstance, FastifyRequest } from "fastify";
import { setMaxListeners } from "node:events";
import type { Socket } from "node:net";
import { FsError } from "../../core/errors.js";
import type { Invoker } from "../../invoker/invoker.js";
import { logTail } from "../../invoker/log-format.js";
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

/** InvokeFunction (contract §1.5.1). */
export function registerInvokeRoutes(app: FastifyInstance, deps: InvokeRouteDeps): void {
  app.post("/fgs/functions/:urn/invocations", async (req: FastifyRequest, reply) => {
    const p = req.params as P;
    if (req.rawBody.length > MAX_SYNC_EVENT_BYTES) {
      throw new FsError(
        "INVOKE_BODY_TOO_LARGE",
        `the request body exceeds ${MAX_SYNC_EVENT_BYTES} bytes`,
      );
    }
    const headers = headerMap(req);
    const responseVersion =
      (headers["x-cff-request-version"] ?? "v0").toLowerCase() === "v1" ? "v1" : "v0";
    const wantTail = (headers["x-cff-log-type"] ?? "").toLowerCase() === "tail";
    // Through an alias, its header rules and weights pick the version (contract §1.6).
    const target = await deps.functions.resolve(p.project_id, p.urn, { headers });
    const memoryMb = parseInstanceMemory(
      headers,
      target.version.extra["enable_dynamic_memory"] === true,
    );
    const result = await deps.invoker.invoke({
      target: { fn: target.fn, version: target.version, alias: target.alias },
      event: req.rawBody.toString("utf8"),
      // The API request id (X-Request-Id) names the invocation too.
      requestId: req.id,
      kind: "sync",
      headers,
      ...(memoryMb ? { memoryMb } : {}),
      signal: connectionSignal(req.raw.socket),
    });
    setInvokeHeaders(reply, result, responseVersion, wantTail);
    if (responseVersion === "v1") {
      return reply.header("Content-Type", "application/json").send({
        request_id: result.requestId,
        result: result.body,
        log: wantTail ? logTail(result.log) : "",
        status: result.ok ? 200 : result.errorCode,
      });
    }
    return reply
      .header(
        "Content-Type",
        looksLikeJson(result.body) ? "application/json" : "text/plain; charset=utf-8",
      )
      .send(result.body);
  });
}

const connectionAborts = new WeakMap<Socket, AbortController>();

/**
 * Aborted when the client's connection closes: the calls it waits for are cancelled. One per
 * connection, not per request: every call on a connection ends with it, and a new AbortSignal
 * per call was ~3 % of the server's CPU on the warm path.
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

function setInvokeHeaders(
  reply: { header(name: string, value: string): unknown },
  r: InvokeResult,
  version: string,
  wantTail: boolean,
): void {
  reply.header("X-Cff-Request-Id", r.requestId);
  reply.header(
    "X-Cff-Invoke-Summary",
    JSON.stringify({
      duration: Math.round(r.durationMs * 1000) / 1000,
      billingDuration: r.billingMs,
      memorySize: r.memorySize,
      memoryUsed: Math.round(r.memoryUsedMb * 1000) / 1000,
      coldStart: r.coldStart,
      timings: r.timings,
    }),
  );
  reply.header("X-CFF-Billing-Duration", String(r.billingMs));
  reply.header("X-Cff-Response-Version", version);
  reply.header("X-Func-Err-Code", String(r.errorCode));
  reply.header("X-Is-Func-Err", String(!r.ok && r.isFuncErr));
  if (wantTail)
    reply.header("X-Cff-Function-Log", Buffer.from(logTail(r.log), "utf8").toString("base64"));
}

function looksLikeJson(s: string): boolean {
  const c = s.trimStart()[0];
  return c === "{" || c === "[";
}
