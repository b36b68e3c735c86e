import { FsError } from "../../core/errors.js";
import type { RouteMatch } from "./route-table.js";

export interface GatewayRequest {
  method: string;
  /** Request target as received (path and query). */
  url: string;
  /** Lower-case names; repeated headers joined with ",". */
  headers: Record<string, string>;
  body: Buffer;
  sourceIp: string;
  requestId: string;
}

/** The APIG event of contract §4.1: base64 body, lower-case headers, string→string maps. */
export function buildApigEvent(req: GatewayRequest, match: RouteMatch): Record<string, unknown> {
  const [path = "/", query = ""] = splitOnce(req.url, "?");
  const qs: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(query)) {
    // Repeated parameters: comma-joined, like repeated headers (contract: UNCONFIRMED).
    qs[k] = k in qs ? `${qs[k]},${v}` : v;
  }
  const ed = match.route.trigger.eventData;
  const headers: Record<string, string> = { ...req.headers };
  headers["x-request-id"] ??= req.requestId;
  headers["x-real-ip"] ??= req.sourceIp;
  headers["x-forwarded-for"] ??= req.sourceIp;
  return {
    body: req.body.toString("base64"),
    requestContext: {
      apiId: match.route.trigger.internal["api_id"],
      requestId: req.requestId,
      stage: ed["env_name"] ?? "RELEASE",
      sourceIp: req.sourceIp,
    },
    queryStringParameters: qs,
    httpMethod: req.method.toUpperCase(),
    pathParameters: match.pathParameters,
    headers,
    path: decodePath(path),
    isBase64Encoded: true,
  };
}

export interface ApigResponse {
  statusCode: number;
  headers: [string, string | string[]][];
  body: Buffer;
}

/** Hop-by-hop or length headers a function must not set on the gateway's response. */
const DROPPED = new Set(["content-length", "transfer-encoding", "connection", "keep-alive"]);

/**
 * A function's result → the HTTP response (contract §4.1): `statusCode` (required, 100-599),
 * `headers` (string map; arrays become repeated headers), `body` (a string, base64 when
 * `isBase64Encoded`). Anything else → FsError APIG_RESULT_INVALID (500 FSS.1202).
 */
export function toApigResponse(resultText: string): ApigResponse {
  let r: unknown;
  try {
    r = JSON.parse(resultText);
  } catch {
    r = undefined;
  }
  if (typeof r !== "object" || r === null || Array.isArray(r)) {
    throw new FsError("APIG_RESULT_INVALID", "the function result is not an APIG response object");
  }
  const o = r as Record<string, unknown>;
  const status = typeof o["statusCode"] === "string" ? Number(o["statusCode"]) : o["statusCode"];
  if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) {
    throw new FsError("APIG_RESULT_INVALID", "the function result has no valid statusCode");
  }
  const headers: [string, string | string[]][] = [];
  const h = o["headers"];
  if (h !== undefined && h !== null) {
    if (typeof h !== "object" || Array.isArray(h)) {
      throw new FsError("APIG_RESULT_INVALID", "headers must be an object");
    }
    for (const [k, v] of Object.entries(h as Record<string, unknown>)) {
      if (DROPPED.has(k.toLowerCase()) || v === undefined || v === null) continue;
      const one = (x: unknown): string => (typeof x === "string" ? x : JSON.stringify(x));
      headers.push([k, Array.isArray(v) ? v.map(one) : one(v)]);
    }
  }
  const b = o["body"];
  const text = b === undefined || b === null ? "" : typeof b === "string" ? b : JSON.stringify(b);
  const body = o["isBase64Encoded"] === true ? Buffer.from(text, "base64") : Buffer.from(text);
  return { statusCode: status, headers, body };
}

function splitOnce(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + 1)];
}

function decodePath(p: string): string {
  try {
    return decodeURI(p);
  } catch {
    return p;
  }
}
