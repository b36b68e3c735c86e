import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Clock } from "../core/clock.js";
import { FsError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type { Authenticate } from "../auth/index.js";
import type { Invoker } from "../invoker/invoker.js";
import {
  APIG_MAX_BODY_BYTES,
  APIG_MAX_TIMEOUT_MS,
  buildApigEvent,
  toApigResponse,
  type RouteTable,
  type TriggerRecord,
} from "../triggers/index.js";
import { headerMap } from "./app.js";
import type { FunctionService } from "./function-service.js";
import { checkGatewayAuth } from "./gateway-auth.js";
import { newRequestId } from "../core/request-id.js";

export interface GatewayDeps {
  routes: RouteTable;
  authenticate: Authenticate;
  functions: Pick<FunctionService, "resolve">;
  invoker: Pick<Invoker, "invoke">;
  /** Async invocation (APIG `func_info.invocation_type: async`). */
  accept?: (
    projectId: string,
    urn: string,
    input: { event: string; headers: Record<string, string> },
  ) => Promise<string>;
  clock: Clock;
  logger: Logger;
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

/**
 * The gateway role's routes: every APIG trigger's path (contract §1.7, §4.1). A request finds its
 * route, passes the route's auth, becomes an APIG event, runs the function (sync, or queued when
 * the trigger says async) and the function's result becomes the HTTP response.
 */
export function registerGatewayRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  app.route({
    method: METHODS,
    url: "/*",
    // Slightly above the limit so the check below answers with the contract's code.
    bodyLimit: APIG_MAX_BODY_BYTES + 1024,
    onRequest: async (req) => {
      if (Number(req.headers["content-length"] ?? 0) > APIG_MAX_BODY_BYTES) throw tooLarge();
    },
    handler: (req, reply) => handle(deps, req, reply),
  });
}

const tooLarge = (): FsError =>
  new FsError("INVOKE_BODY_TOO_LARGE", `the request body exceeds ${APIG_MAX_BODY_BYTES} bytes`);

async function handle(
  deps: GatewayDeps,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const path = req.url.split("?")[0] ?? "/";
  const found = deps.routes.lookup(req.method, path);
  if (found.kind === "not-found") {
    if (path === "/healthz" && req.method === "GET") return { status: "ok", role: "gateway" };
    throw new FsError("NOT_FOUND", `no API for ${req.method} ${path}`);
  }
  if (found.kind === "method-not-allowed") {
    void reply.header(
      "Allow",
      found.allow.includes("ANY") ? METHODS.join(", ") : found.allow.join(", "),
    );
    throw new FsError("METHOD_NOT_ALLOWED", `${req.method} is not allowed on ${path}`);
  }
  const { match } = found;
  const t = match.route.trigger;
  if (req.rawBody.length > APIG_MAX_BODY_BYTES) throw tooLarge();
  const headers = headerMap(req);
  checkGatewayAuth(
    t,
    { method: req.method, rawUrl: req.url, headers, body: req.rawBody },
    deps.authenticate,
    deps.clock.now(),
  );
  const requestId = req.id;
  const event = JSON.stringify(
    buildApigEvent(
      { method: req.method, url: req.url, headers, body: req.rawBody, sourceIp: req.ip, requestId },
      match,
    ),
  );
  const funcInfo = (t.eventData["func_info"] ?? {}) as {
    invocation_type?: string;
    timeout?: number;
  };
  if (funcInfo.invocation_type === "async") {
    if (!deps.accept) throw new FsError("UNAVAILABLE", "async invocation is not available");
    const id = await deps.accept(t.projectId, t.funcUrn, { event, headers });
    return reply.code(202).header("X-Cff-Request-Id", id).send({ request_id: id });
  }
  return invokeSync(
    deps,
    t,
    { event, headers, requestId, timeoutMs: funcInfo.timeout },
    req,
    reply,
  );
}

async function invokeSync(
  deps: GatewayDeps,
  t: TriggerRecord,
  call: { event: string; headers: Record<string, string>; requestId: string; timeoutMs?: number },
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  // Alias header rules see the caller's headers (contract §1.6: they apply to APIG calls).
  const target = await deps.functions.resolve(t.projectId, t.funcUrn, { headers: call.headers });
  const abort = new AbortController();
  let timedOut = false;
  const timeoutMs = Math.min(call.timeoutMs ?? APIG_MAX_TIMEOUT_MS, APIG_MAX_TIMEOUT_MS);
  const timer = deps.clock.setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, timeoutMs);
  // A client that leaves takes a waiting call out of the queue; a running one runs on.
  const gone = new AbortController();
  req.raw.once("close", () => {
    if (!reply.sent && req.raw.destroyed) gone.abort();
  });
  let result;
  try {
    result = await deps.invoker.invoke({
      target: { fn: target.fn, version: target.version, alias: target.alias },
      event: call.event,
      requestId: call.requestId || newRequestId(),
      kind: "sync",
      headers: call.headers,
      signal: abort.signal,
      callerGone: gone.signal,
    });
  } finally {
    deps.clock.clearTimeout(timer);
  }
  if (timedOut) {
    throw new FsError("GATEWAY_TIMEOUT", `the function did not answer within ${timeoutMs} ms`);
  }
  void reply.header("X-Cff-Request-Id", result.requestId);
  if (!result.ok) {
    // A failed function has no APIG response: 500 with its error payload.
    return reply
      .code(500)
      .header("Content-Type", "application/json")
      .header("X-Func-Err-Code", String(result.errorCode))
      .header("X-Is-Func-Err", String(result.isFuncErr))
      .send(result.body);
  }
  const res = toApigResponse(result.body);
  for (const [k, v] of res.headers) void reply.header(k, v);
  return reply.code(res.statusCode).send(res.body);
}
