import type { Clock } from "../core/clock.js";
import { FsError } from "../core/errors.js";
import type { Identity } from "../core/types.js";
import { safeEqual } from "./safe-equal.js";
import { headerValue, type HeaderMap } from "./sdk-canonical.js";
import { verifySdkSignature, type SecretRecord } from "./sdk-signature.js";
import type { TokenService } from "./token-service.js";

/** Who made a request, however they proved it. */
export interface Principal {
  userId: string;
  /** Project the credential belongs to; absent for a domain-scoped token. */
  projectId?: string;
  via: "token" | "aksk";
  /** AK/SK only: the access key used. */
  accessKey?: string;
  /** AK/SK only: `X-Project-Id`, when the client signed it. */
  signedProjectId?: string;
}

/** An access key's secret plus the user and project it acts for. */
export interface AccessCredential extends SecretRecord {
  userId: string;
  projectId: string;
}

export interface AuthRequest {
  method: string;
  rawUrl: string;
  /** Names lower-cased. */
  headers: HeaderMap;
  body: Uint8Array | string | undefined;
}

/** The identity's permanent AK/SK as the one credential (constant-time on the key too). */
export function createIdentityLookup(
  identity: Identity,
): (accessKey: string) => AccessCredential | undefined {
  return (accessKey) =>
    safeEqual(accessKey, identity.accessKey)
      ? { secretKey: identity.secretKey, userId: identity.userId, projectId: identity.projectId }
      : undefined;
}

/** What `createAuthenticator` builds: request in, principal out (throws FsError 401). */
export type Authenticate = (request: AuthRequest) => Principal;

export interface AuthenticatorDeps {
  tokens: TokenService;
  clock: Clock;
  identity: Identity;
  /** AK → credential; defaults to the identity's AK/SK via {@link createIdentityLookup}. */
  lookupSecret?: (accessKey: string) => AccessCredential | undefined;
}

/**
 * Builds `authenticate(request)`: `X-Auth-Token` wins when present, else an AK/SK
 * `Authorization` header; neither → UNAUTHORIZED "missing credentials".
 */
export function createAuthenticator(deps: AuthenticatorDeps): Authenticate {
  const lookupSecret = deps.lookupSecret ?? createIdentityLookup(deps.identity);
  return (request) => {
    const token = headerValue(request.headers, "x-auth-token");
    if (token !== undefined) {
      const claims = deps.tokens.verify(token.trim());
      return {
        userId: claims.userId,
        ...(claims.projectId !== undefined ? { projectId: claims.projectId } : {}),
        via: "token",
      };
    }
    if (headerValue(request.headers, "authorization") !== undefined) {
      const verified = verifySdkSignature({
        ...request,
        lookupSecret,
        now: deps.clock.now(),
      });
      return {
        userId: verified.record.userId,
        projectId: verified.record.projectId,
        via: "aksk",
        accessKey: verified.accessKey,
        ...(verified.projectId !== undefined ? { signedProjectId: verified.projectId } : {}),
      };
    }
    throw new FsError(
      "UNAUTHORIZED",
      "Missing credentials: send X-Auth-Token or an AK/SK signature",
    );
  };
}

/**
 * 403 FORBIDDEN unless `{project_id}` in the path is the caller's project, and, for AK/SK, the
 * signed `X-Project-Id` (when sent) names the same project.
 */
export function assertProjectAccess(principal: Principal, pathProjectId: string): void {
  if (principal.projectId === undefined || principal.projectId !== pathProjectId) {
    throw new FsError("FORBIDDEN", "The project in the path is not the caller's project");
  }
  if (principal.signedProjectId !== undefined && principal.signedProjectId !== pathProjectId) {
    throw new FsError("FORBIDDEN", "X-Project-Id does not match the project in the path");
  }
}
