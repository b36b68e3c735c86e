/** Authentication: IAM-style tokens, AK/SK request signatures, project scoping. */
export {
  assertProjectAccess,
  createAuthenticator,
  createIdentityLookup,
  type AccessCredential,
  type Authenticate,
  type AuthenticatorDeps,
  type AuthRequest,
  type Principal,
} from "./authenticate.js";
export { generateIdentity, type GenerateIdentityOptions } from "./identity.js";
export {
  authenticatePassword,
  passwordAuthSchema,
  toIamTime,
  type CatalogEntry,
  type PasswordAuthBody,
  type PasswordAuthOptions,
  type PasswordAuthRequest,
  type PasswordAuthResult,
} from "./password-auth.js";
export { projectsResponse, type ProjectEntry, type ProjectsBody } from "./projects.js";
export {
  formatSdkDate,
  MAX_DATE_SKEW_MS,
  parseSdkDate,
  verifySdkSignature,
  type SecretRecord,
  type SignedRequest,
  type VerifiedSignature,
} from "./sdk-signature.js";
export {
  createTokenService,
  TOKEN_TTL_MS,
  type IssuedToken,
  type TokenClaims,
  type TokenService,
} from "./token-service.js";
