/**
 * Canonical-request pieces of Huawei Cloud's SDK-HMAC-SHA256 signing (contract §2.2).
 * The official SDK builds them from the request *before* it goes on the wire; a verifier only
 * sees the wire form, so every piece here is rebuilt from what was received.
 */

/** RFC 3986 encoding: unreserved `A-Z a-z 0-9 - _ . ~` kept, everything else `%XX` of UTF-8. */
export function rfc3986Encode(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/**
 * Decodes what a client may have percent-encoded. A segment that is not valid percent-encoding
 * is taken literally, which is what the SDK would have signed for it.
 */
function decodeLenient(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * `/v2/p/fgs/functions/urn:fss:…:!prod/invocations` and its `%3A`-encoded twin both become
 * `/v2/p/fgs/functions/urn%3Afss%3A…%3A%21prod/invocations/`.
 */
export function toCanonicalUri(path: string): string {
  const uri = path
    .split("/")
    .map((segment) => rfc3986Encode(decodeLenient(segment)))
    .join("/");
  return uri.endsWith("/") ? uri : uri + "/";
}

/** JavaScript's default sort (UTF-16 code units) on *decoded* names and values, as the SDK does. */
export function toCanonicalQuery(query: string): string {
  if (query === "") return "";
  const params = new URLSearchParams(query);
  const out: string[] = [];
  for (const name of [...new Set(params.keys())].sort()) {
    for (const value of params.getAll(name).sort()) {
      out.push(`${rfc3986Encode(name)}=${rfc3986Encode(value)}`);
    }
  }
  return out.join("&");
}

/** Received header map, names lower-cased (node's `IncomingMessage.headers` shape). */
export type HeaderMap = Readonly<Record<string, string | readonly string[] | undefined>>;

/** A header's received value, repeated headers joined as node would, undefined when absent. */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return typeof v === "string" ? v : v.join(",");
}

/**
 * `name:value\n` for each signed header. Values are trimmed: node already strips surrounding
 * whitespace on receipt, and the SDK never sends any.
 */
export function toCanonicalHeaders(headers: HeaderMap, signedNames: readonly string[]): string {
  return signedNames.map((n) => `${n}:${(headerValue(headers, n) ?? "").trim()}\n`).join("");
}

/** Splits a request target (`/path?query`) into path and raw query. */
export function splitRawUrl(rawUrl: string): { path: string; query: string } {
  const q = rawUrl.indexOf("?");
  return q === -1
    ? { path: rawUrl, query: "" }
    : { path: rawUrl.slice(0, q), query: rawUrl.slice(q + 1) };
}
