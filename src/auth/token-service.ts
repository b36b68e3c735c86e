import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../core/clock.js";
import { FsError } from "../core/errors.js";
import type { Identity } from "../core/types.js";
import {
  authenticatePassword,
  type PasswordAuthOptions,
  type PasswordAuthResult,
} from "./password-auth.js";

/** IAM tokens are valid for 24 hours. */
export const TOKEN_TTL_MS = 24 * 60 * 60 * 1000;

export interface IssuedToken {
  token: string;
  issuedAt: Date;
  expiresAt: Date;
}

export interface TokenClaims {
  userId: string;
  /** Absent for domain-scoped tokens, which grant no project. */
  projectId?: string;
  expiresAt: Date;
}

export interface TokenService {
  /** Mints a token for the identity's user; omit `scopeProjectId` for a domain-scoped token. */
  issue(scope: { scopeProjectId?: string }): IssuedToken;
  /** Checks MAC and expiry; throws FsError UNAUTHORIZED. The same frozen claims per token. */
  verify(token: string): Readonly<TokenClaims>;
  /** `POST /v3/auth/tokens` (contract §2.1); the caller answers 201 with `X-Subject-Token: token`. */
  authenticatePassword(body: unknown, options?: PasswordAuthOptions): PasswordAuthResult;
}

// Real IAM tokens are long base64 strings starting "MII" (DER); keeping the prefix lets clients
// that sniff it treat ours the same. Body: base64url(mac[32] ‖ JSON payload).
const PREFIX = "MII";
const MAC_LEN = 32;
const MAC_CONTEXT = "fngraph-token-v1\n";
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Verified tokens remembered before the memory starts over. */
const VERIFIED_TOKENS = 1000;

interface Payload {
  u: string;
  p?: string;
  i: number;
  e: number;
  n: string;
}

function isPayload(v: unknown): v is Payload {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.u === "string" &&
    (o.p === undefined || typeof o.p === "string") &&
    typeof o.i === "number" &&
    typeof o.e === "number" &&
    typeof o.n === "string"
  );
}

/** Stateless tokens: HMAC-SHA256 under `identity.tokenKey`, verified without any store. */
export function createTokenService(deps: { identity: Identity; clock: Clock }): TokenService {
  const { identity, clock } = deps;
  const mac = (payload: Buffer): Buffer =>
    createHmac("sha256", identity.tokenKey).update(MAC_CONTEXT).update(payload).digest();

  /**
   * Tokens whose MAC was checked, with their claims: a client sends the same token with every
   * request. Frozen: every request of the token gets the same object.
   */
  const verified = new Map<string, { e: number; claims: Readonly<TokenClaims> }>();
  const claimsOf = (payload: Payload): Readonly<TokenClaims> =>
    Object.freeze({
      userId: payload.u,
      ...(payload.p !== undefined ? { projectId: payload.p } : {}),
      expiresAt: new Date(payload.e),
    });
  const unexpired = (e: number): void => {
    if (clock.now() >= e) throw new FsError("UNAUTHORIZED", "The token has expired");
  };

  const service: TokenService = {
    issue({ scopeProjectId }) {
      const issuedAt = clock.now();
      const expiresAt = issuedAt + TOKEN_TTL_MS;
      const payload: Payload = {
        u: identity.userId,
        ...(scopeProjectId !== undefined ? { p: scopeProjectId } : {}),
        i: issuedAt,
        e: expiresAt,
        n: randomBytes(16).toString("base64url"),
      };
      const bytes = Buffer.from(JSON.stringify(payload), "utf8");
      const token = PREFIX + Buffer.concat([mac(bytes), bytes]).toString("base64url");
      return { token, issuedAt: new Date(issuedAt), expiresAt: new Date(expiresAt) };
    },

    verify(token) {
      const known = typeof token === "string" ? verified.get(token) : undefined;
      if (known) {
        unexpired(known.e);
        return known.claims;
      }
      // Built only on failure: an Error captures a stack, and verify runs on every request.
      const invalid = (): FsError => new FsError("UNAUTHORIZED", "Invalid token");
      if (typeof token !== "string" || !token.startsWith(PREFIX)) throw invalid();
      const body = token.slice(PREFIX.length);
      if (!BASE64URL.test(body)) throw invalid();
      const raw = Buffer.from(body, "base64url");
      if (raw.length <= MAC_LEN) throw invalid();
      const bytes = raw.subarray(MAC_LEN);
      if (!timingSafeEqual(raw.subarray(0, MAC_LEN), mac(bytes))) throw invalid();
      let payload: unknown;
      try {
        payload = JSON.parse(bytes.toString("utf8"));
      } catch {
        throw invalid();
      }
      if (!isPayload(payload)) throw invalid();
      unexpired(payload.e);
      const result = claimsOf(payload);
      if (verified.size >= VERIFIED_TOKENS) verified.clear();
      verified.set(token, { e: payload.e, claims: result });
      return result;
    },

    authenticatePassword(body, options) {
      return authenticatePassword(identity, service, body, options);
    },
  };
  return service;
}
