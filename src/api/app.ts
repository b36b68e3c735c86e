import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { Readable } from "node:stream";
import { FsError, isFsError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type { Principal } from "../auth/index.js";
import { newRequestId } from "../core/request-id.js";

/** Largest request body accepted at all (a 50 MB package is ~67 MB of base64 JSON). */
export const MAX_BODY_BYTES = 80 * 1024 * 1024;
const MAX_GET_BODY_BYTES = 64 * 1024;

declare module "fastify" {
  interface FastifyRequest {
    rawBody: Buffer;
    principal?: Principal;
  }
}

export interface AppOptions {
  logger: Logger;
  /**
   * Looked at first for every request: returns true when it has taken the request (the invoke
   * fast path, fast-invoke.ts), false to leave it to Fastify.
   */
  fastRoute?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/**
 * What Fastify sets on a server it makes itself (its defaults), so that ours behaves the same:
 * keep-alive 72 s (Node's own is 5 s), no limit on the time to receive a request (Node's is 300 s,
 * which a large package upload over a slow link could exceed).
 */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;
const REQUEST_TIMEOUT_MS = 0;

/**
 * The Fastify instance with fngraph's conventions: every body kept raw (AK/SK signs the bytes;
 * invocations pass the event text through untouched), every error a FunctionGraph body, every
 * response an `X-Request-Id`.
 */
export function createApp(opts: AppOptions): FastifyInstance {
  const app = Fastify({
    bodyLimit: MAX_BODY_BYTES,
    genReqId: () => newRequestId(),
    requestIdHeader: false,
    routerOptions: { ignoreDuplicateSlashes: true, maxParamLength: 1024 },
    logger: false,
    serverFactory: (handler) => {
      const fast = opts.fastRoute;
      const server = http.createServer(
        fast
          ? (req, res) => {
              if (!fast(req, res)) handler(req, res);
            }
          : handler,
      );
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
      server.requestTimeout = REQUEST_TIMEOUT_MS;
      return server;
    },
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  // Reference-type decorators must start null (Fastify 5); the hook below sets it per request.
  app.decorateRequest("rawBody", null as unknown as Buffer);
  // Fastify never parses GET/HEAD bodies, but the SDK sends `{}` with its GETs and signs it, so
  // the bytes are read here to verify the signature.
  // The hooks every request runs are callback-style: an async hook costs a promise and a turn
  // of the microtask queue per request, measurable on the invoke path.
  app.addHook("preParsing", (req, _reply, payload, done) => {
    if (req.method !== "GET" && req.method !== "HEAD") return done(null, payload);
    const declared = Number(req.headers["content-length"] ?? 0);
    if (!(declared > 0) && req.headers["transfer-encoding"] === undefined) {
      return done(null, payload);
    }
    readGetBody(payload).then(
      (body) => {
        req.rawBody = body;
        done(null, Readable.from([]));
      },
      (err: Error) => done(err),
    );
  });
  app.addHook("preValidation", (req, _reply, done) => {
    if (Buffer.isBuffer(req.body)) req.rawBody = req.body;
    else req.rawBody ??= Buffer.alloc(0);
    done();
  });
  app.addHook("onRequest", (req, reply, done) => {
    void reply.header("X-Request-Id", req.id);
    done();
  });

  app.setNotFoundHandler((req, reply) => {
    void reply
      .code(404)
      .send(
        new FsError("NOT_FOUND", `no route for ${req.method} ${req.url.split("?")[0]}`).toBody(),
      );
  });

  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const e = errorReply(err, req.id, req.url, opts.logger);
    void reply.code(e.status).send(e.body);
  });

  return app;
}

/**
 * The FunctionGraph error body and status for anything a handler threw: FsErrors as they are,
 * Fastify's body limit as 413, its other client errors as 400, anything else 500 (logged).
 */
export function errorReply(
  err: unknown,
  requestId: string,
  url: string,
  logger: Logger,
): { status: number; body: { error_code: string; error_msg: string } } {
  if (isFsError(err)) return { status: err.status, body: err.toBody() };
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    const tooLarge = new FsError("BODY_TOO_LARGE", `request body exceeds ${MAX_BODY_BYTES} bytes`);
    return { status: 413, body: tooLarge.toBody() };
  }
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return {
      status: 400,
      body: new FsError("INVALID_PARAMETER", e.message ?? "bad request").toBody(),
    };
  }
  logger.error({ err, requestId, url }, "unexpected error");
  return {
    status: 500,
    body: new FsError("INTERNAL", `internal error (request ${requestId})`).toBody(),
  };
}

async function readGetBody(payload: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of payload) {
    size += (chunk as Buffer).length;
    if (size > MAX_GET_BODY_BYTES)
      throw new FsError("BODY_TOO_LARGE", "GET request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The JSON body of a request; an empty body is `{}`; bad JSON → 400 FSS.0400. */
export function jsonBody(req: FastifyRequest): unknown {
  if (req.rawBody.length === 0) return {};
  try {
    return JSON.parse(req.rawBody.toString("utf8")) as unknown;
  } catch {
    throw new FsError("INVALID_PARAMETER", "request body is not valid JSON");
  }
}

/** Lower-cased single-valued header map. */
export function headerMap(req: { headers: IncomingHttpHeaders }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(",") : v;
  }
  return out;
}
