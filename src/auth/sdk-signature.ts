import { createHash, createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { FsError } from "../core/errors.js";
import { safeEqual } from "./safe-equal.js";
import {
  headerValue,
  splitRawUrl,
  toCanonicalHeaders,
  toCanonicalQuery,
  toCanonicalUri,
  type HeaderMap,
} from "./sdk-canonical.js";

/** What a verifier needs to know about an access key. */
export interface SecretRecord {
  secretKey: string;
  /** Set for temporary credentials: the request must carry this `X-Security-Token`, signed. */
  securityToken?: string;
}

/** Input of {@link verifySdkSignature}; header names must be lower-cased. */
export interface SignedRequest<T extends SecretRecord> {
  method: string;
  /** Request target as received: path plus optional `?query`, not decoded. */
  rawUrl: string;
  headers: HeaderMap;
  /** Raw body bytes as received (empty for none). */
  body: Uint8Array | string | undefined;
  lookupSecret: (accessKey: string) => T | undefined;
  /** Epoch milliseconds, from the injected Clock. */
  now: number;
}

export interface VerifiedSignature<T extends SecretRecord> {
  accessKey: string;
  /** `X-Project-Id`, only when it is among the signed headers. */
  projectId?: string;
  /** `X-Domain-Id` (GlobalCredentials), only when signed. */
  domainId?: string;
  record: T;
}

/** API Gateway's rule: reject requests dated more than 15 minutes from now. */
export const MAX_DATE_SKEW_MS = 15 * 60 * 1000;

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const SDK_AUTH =
  /^SDK-HMAC-SHA256\s+Access=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-fA-F]+)\s*$/;
const V11_AUTH =
  /^V11-HMAC-SHA256\s+Credential=([^,\s/]+)\/(\d{8})\/([^,\s/]+)\/([^,\s/]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-fA-F]+)\s*$/;
const SDK_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

type ParsedAuthorization =
  | { algorithm: "SDK-HMAC-SHA256"; accessKey: string; signedHeaders: string; signature: string }
  | {
      algorithm: "V11-HMAC-SHA256";
      accessKey: string;
      scopeDate: string;
      info: string;
      signedHeaders: string;
      signature: string;
    };

const unauthorized = (detail: string): FsError => new FsError("UNAUTHORIZED", detail);

function parseAuthorization(value: string | undefined): ParsedAuthorization {
  if (value === undefined || value === "") throw unauthorized("Missing Authorization header");
  const sdk = SDK_AUTH.exec(value);
  if (sdk) {
    const [, accessKey = "", signedHeaders = "", signature = ""] = sdk;
    return { algorithm: "SDK-HMAC-SHA256", accessKey, signedHeaders, signature };
  }
  const v11 = V11_AUTH.exec(value);
  if (v11) {
    const [, accessKey = "", scopeDate = "", region = "", service = "", signedHeaders = ""] = v11;
    const signature = v11[6] ?? "";
    return {
      algorithm: "V11-HMAC-SHA256",
      accessKey,
      scopeDate,
      info: `${scopeDate}/${region}/${service}`,
      signedHeaders,
      signature,
    };
  }
  throw unauthorized("Malformed Authorization header");
}

/** `YYYYMMDDTHHMMSSZ` → epoch ms, or undefined when it is not a real UTC instant. */
export function parseSdkDate(value: string): number | undefined {
  const m = SDK_DATE.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(t);
  // Date.UTC rolls 20240231 over into March; a real signer never sends that.
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    return undefined;
  }
  return t;
}

/** Formats an instant the way the SDK's `X-Sdk-Date` does. */
export function formatSdkDate(epochMs: number): string {
  return new Date(epochMs)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
}

const sha256Hex = (data: Uint8Array | string): string =>
  createHash("sha256").update(data).digest("hex");

/** Key of V11-HMAC-SHA256: lower-hex HKDF-SHA256(ikm = SK, salt = AK, info), used as a string. */
function derivedSigningKey(accessKey: string, secretKey: string, info: string): string {
  return Buffer.from(hkdfSync("sha256", secretKey, accessKey, info, 32)).toString("hex");
}

/**
 * Verifies a request signed by a Huawei Cloud SDK (contract §2.2): `SDK-HMAC-SHA256`, and the
 * derived `V11-HMAC-SHA256` variant. Throws FsError UNAUTHORIZED naming what failed.
 */
export function verifySdkSignature<T extends SecretRecord>(
  req: SignedRequest<T>,
): VerifiedSignature<T> {
  const { headers } = req;
  const auth = parseAuthorization(headerValue(headers, "authorization"));
  if (auth.signature.length !== 64) throw unauthorized("Malformed signature");

  const signedNames = auth.signedHeaders.split(";");
  if (signedNames.some((n) => n === "" || n !== n.toLowerCase())) {
    throw unauthorized("Malformed SignedHeaders");
  }

  const sdkDate = headerValue(headers, "x-sdk-date");
  if (sdkDate === undefined) throw unauthorized("Missing X-Sdk-Date header");
  const dateMs = parseSdkDate(sdkDate.trim());
  if (dateMs === undefined) throw unauthorized("Malformed X-Sdk-Date header");
  if (Math.abs(req.now - dateMs) > MAX_DATE_SKEW_MS) {
    throw unauthorized("X-Sdk-Date is more than 15 minutes away from server time");
  }
  if (auth.algorithm === "V11-HMAC-SHA256" && auth.scopeDate !== sdkDate.trim().slice(0, 8)) {
    throw unauthorized("Credential date does not match X-Sdk-Date");
  }

  const record = req.lookupSecret(auth.accessKey);
  if (record === undefined) throw unauthorized("Unknown access key");

  const signed = new Set(signedNames);
  if (record.securityToken !== undefined) {
    const sent = headerValue(headers, "x-security-token");
    if (sent === undefined || !signed.has("x-security-token")) {
      throw unauthorized("Temporary credentials require a signed X-Security-Token");
    }
    if (!safeEqual(sent.trim(), record.securityToken)) throw unauthorized("Invalid security token");
  }

  const { path, query } = splitRawUrl(req.rawUrl);
  const contentSha = headerValue(headers, "x-sdk-content-sha256");
  const payloadHash =
    signed.has("x-sdk-content-sha256") && contentSha !== undefined
      ? contentSha.trim()
      : req.body === undefined || req.body.length === 0
        ? EMPTY_SHA256
        : sha256Hex(req.body);
  const canonicalRequest = [
    req.method.toUpperCase(),
    toCanonicalUri(path),
    toCanonicalQuery(query),
    toCanonicalHeaders(headers, signedNames),
    auth.signedHeaders,
    payloadHash,
  ].join("\n");

  const requestHash = sha256Hex(canonicalRequest);
  const [stringToSign, key] =
    auth.algorithm === "SDK-HMAC-SHA256"
      ? [[auth.algorithm, sdkDate.trim(), requestHash].join("\n"), record.secretKey]
      : [
          [auth.algorithm, sdkDate.trim(), auth.info, requestHash].join("\n"),
          derivedSigningKey(auth.accessKey, record.secretKey, auth.info),
        ];
  const expected = createHmac("sha256", key).update(stringToSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(auth.signature, "hex"))) {
    throw unauthorized("Signature does not match");
  }

  const result: VerifiedSignature<T> = { accessKey: auth.accessKey, record };
  const projectId = headerValue(headers, "x-project-id");
  if (projectId !== undefined && signed.has("x-project-id")) result.projectId = projectId.trim();
  const domainId = headerValue(headers, "x-domain-id");
  if (domainId !== undefined && signed.has("x-domain-id")) result.domainId = domainId.trim();
  return result;
}
