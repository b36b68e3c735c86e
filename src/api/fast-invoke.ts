import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuthRequest, Principal } from "../auth/index.js";
import type { Logger } from "../core/logger.js";
import { newRequestId } from "../core/request-id.js";
import { errorReply } from "./app.js";
import {
  handleInvoke,
  JSON_TYPE,
  MAX_SYNC_EVENT_BYTES,
  type InvokeReply,
  type InvokeRouteDeps,
} from "./routes/invoke.js";

/** `POST /v2/{project_id}/fgs/functions/{function_urn}/invocations`, nothing more. */
const INVOKE_PATH = /^\/v2\/([^/?#]+)\/fgs\/functions\/([^/?#]+)\/invocations$/;
/** Fastify's router is set to the same bound (routerOptions.maxParamLength). */
const MAX_PARAM_LENGTH = 1024;

export interface FastInvokeDeps {
  logger: Logger;
  /** The v2 routes' check (server.ts): credentials, then the path's project. */
  authorize: (r: AuthRequest & { projectId: string }) => Principal;
  invoke: InvokeRouteDeps;
}

/**
 * Sync invocations served straight from node:http, before Fastify sees them: its routing, hooks,
 * body parser and reply were ~6 µs of the ~40 µs the event loop spends on a warm call, the part of
 * the platform that bounds its throughput. The same `handleInvoke`, `authorize` and error bodies
 * as the Fastify route; only plain requests take this path (a known length within the 6 MB limit,
 * no query string, no doubled slash, decodable path). Anything else returns false and Fastify
 * serves it, with the same results.
 */
export function createFastInvoke(
  deps: FastInvokeDeps,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== "POST") return false;
    const url = req.url ?? "";
    const m = INVOKE_PATH.exec(url);
    if (!m) return false;
    const headers = singleHeaders(req);
    if (!headers) return false;
    const length = Number(headers["content-length"]);
    if (!(length <= MAX_SYNC_EVENT_BYTES) || headers["transfer-encoding"] !== undefined) {
      return false;
    }
    const projectId = pathParam(m[1] ?? "");
    const urn = pathParam(m[2] ?? "");
    if (projectId === undefined || urn === undefined) return false;
    const requestId = newRequestId();
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("error", () => res.destroy());
    req.on("end", () => {
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      // A throw of authorize becomes a rejection like handleInvoke's (not an async function:
      // one promise less per call).
      let answer: Promise<InvokeReply>;
      try {
        deps.authorize({ method: "POST", rawUrl: url, headers, body, projectId });
        answer = handleInvoke(deps.invoke, {
          projectId,
          urn,
          headers,
          body,
          requestId,
          socket: req.socket,
        });
      } catch (err) {
        answer = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      answer
        .then(
          (r) => send(res, 200, requestId, r.headers, r.body),
          (err: unknown) => {
            const e = errorReply(err, requestId, url, deps.logger);
            send(res, e.status, requestId, { "content-type": JSON_TYPE }, JSON.stringify(e.body));
          },
        )
        // Never an unhandled rejection (it would stop the platform): a reply that cannot be
        // written is logged and its connection closed.
        .catch((err: unknown) => {
          deps.logger.error({ err, requestId, url }, "cannot write an invocation's reply");
          res.destroy();
        });
    });
    return true;
  };
}

/**
 * The request's headers by lower-case name: node's own `req.headers`, which node:http builds for
 * every request before it is handed over (its Host and Expect checks read it), when it holds each
 * raw header once as a string. Undefined when a name repeats (node joins or drops repeated headers
 * by rules of its own; Fastify's path, headerMap over `req.headers`, serves such requests, so both
 * paths see the same values) or could not be a plain key. Copying the raw list into an object of
 * our own cost a second object and every name lower-cased twice.
 */
export function singleHeaders(
  req: Pick<IncomingMessage, "headers" | "rawHeaders">,
): Record<string, string> | undefined {
  const h = req.headers;
  let n = 0;
  for (const k in h) {
    if (k === "__proto__" || typeof h[k] !== "string") return undefined;
    n++;
  }
  return n * 2 === req.rawHeaders.length ? (h as Record<string, string>) : undefined;
}

/** A path segment as Fastify's router gives it (percent-decoded), or undefined to leave it to it. */
function pathParam(raw: string): string | undefined {
  if (raw.length > MAX_PARAM_LENGTH) return undefined;
  if (!raw.includes("%")) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

function send(
  res: ServerResponse,
  status: number,
  requestId: string,
  headers: Record<string, string>,
  body: string,
): void {
  if (res.headersSent || res.destroyed) return;
  const flat = ["x-request-id", requestId];
  for (const k in headers) flat.push(k, headers[k] as string);
  flat.push("content-length", String(Buffer.byteLength(body)));
  res.writeHead(status, flat);
  res.end(body);
}
