import { Readable } from "node:stream";
import { Agent, request } from "undici";
import { CliError } from "./errors.js";
import { toText } from "./output.js";

/** A response read to the end. Header names are lower-case. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
}

export interface HttpRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path and query, starting with `/`. */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Called as the body is handed to the socket (bytes so far, total). */
  onProgress?: (sent: number, total: number) => void;
  /** No response deadline (sync invocations may run for minutes). */
  longRunning?: boolean;
}

export interface Http {
  readonly endpoint: string;
  send(req: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

/** Size of the pieces a body is streamed in, so progress can be reported while uploading. */
const CHUNK = 64 * 1024;

/**
 * One connection pool per CLI run; `close()` lets the process exit at once instead of waiting for
 * keep-alive sockets. Transport failures become "cannot reach fngraph at <url>".
 */
export function createHttp(endpoint: string): Http {
  const base = endpoint.replace(/\/+$/, "");
  let url: URL;
  try {
    url = new URL(base);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("bad protocol");
  } catch {
    throw new CliError(`invalid endpoint "${endpoint}": expected http(s)://host:port`);
  }
  const agent = new Agent({ keepAliveTimeout: 1000 });
  return {
    endpoint: base,
    async send(req) {
      const body = req.body;
      let res;
      try {
        res = await request(`${base}${req.path}`, {
          method: req.method,
          headers: {
            ...(body ? { "content-length": String(body.length) } : {}),
            ...req.headers,
          },
          ...(body ? { body: toStream(body, req.onProgress) } : {}),
          dispatcher: agent,
          ...(req.longRunning ? { headersTimeout: 0, bodyTimeout: 0 } : {}),
        });
      } catch (err) {
        throw new CliError(
          `cannot reach fngraph at ${base}: is \`fngraph serve\` running? (${describe(err)})`,
        );
      }
      const text = await res.body.text();
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(",") : v;
      }
      return { status: res.statusCode, headers, text };
    },
    close: () => agent.close(),
  };
}

function toStream(body: Buffer, onProgress?: (sent: number, total: number) => void): Readable {
  if (!onProgress) return Readable.from([body]);
  const total = body.length;
  return Readable.from(
    (function* () {
      for (let off = 0; off < total; off += CHUNK) {
        const end = Math.min(off + CHUNK, total);
        yield body.subarray(off, end);
        onProgress(end, total);
      }
    })(),
  );
}

/** The most telling code of a transport error (undici nests them: cause, AggregateError). */
function describe(err: unknown): string {
  const seen: unknown[] = [err];
  for (let i = 0; i < seen.length && i < 10; i++) {
    const e = seen[i] as { code?: unknown; cause?: unknown; errors?: unknown } | null;
    if (!e || typeof e !== "object") continue;
    if (typeof e.code === "string" && !e.code.startsWith("UND_ERR_SOCKET")) return e.code;
    if (e.cause) seen.push(e.cause);
    if (Array.isArray(e.errors)) seen.push(...(e.errors as unknown[]));
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * A non-2xx response as a CLI error: 401 means the login is no longer good; every other error
 * keeps its FunctionGraph code (`error FSS.1051: Not found the function`).
 */
export function toApiError(res: HttpResponse): CliError {
  const { code, message } = parseErrorBody(res.text);
  if (res.status === 401) {
    return new CliError(
      `credentials rejected: run \`fngraph login\`${message ? ` (${message})` : ""}`,
    );
  }
  if (code) return new CliError(message || `HTTP ${res.status}`, 1, code);
  return new CliError(`HTTP ${res.status}${message ? `: ${message}` : ""}`);
}

/** `{error_code, error_msg}` or the alternative `{error: {code, message}}` (contract §1.0). */
export function parseErrorBody(text: string): { code: string; message: string } {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (typeof o["error_code"] === "string") {
      return { code: o["error_code"], message: toText(o["error_msg"]) };
    }
    const e = o["error"] as Record<string, unknown> | undefined;
    if (e && typeof e === "object") {
      return { code: toText(e["code"]), message: toText(e["message"]) };
    }
  } catch {
    // Not JSON: show the start of the text.
  }
  return { code: "", message: text.slice(0, 200).trim() };
}
