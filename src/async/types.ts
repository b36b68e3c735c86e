import type { FunctionRecord, FunctionVersion } from "../core/types.js";
import type { FunctionRef } from "../core/urn.js";

/** A URN resolved to a function and one concrete version (the api layer's FunctionService). */
export interface ResolvedTarget {
  fn: FunctionRecord;
  version: FunctionVersion;
  ref: FunctionRef;
  /** Alias the URN named ("" when none). */
  alias: string;
}

/** `invoke` is passed when resolving for a call, so alias weights and header rules apply. */
export type Resolver = (
  projectId: string,
  urn: string,
  invoke?: { headers: Record<string, string> },
) => Promise<ResolvedTarget>;

/** The qualifier async configs and records are keyed by: `latest`, `1`, or `!alias`. */
export const qualifierOf = (t: Pick<ResolvedTarget, "alias" | "version">): string =>
  t.alias ? `!${t.alias}` : t.version.version;

/** Defaults when a version or alias has no async invoke config (decisions in docs/async.md). */
export const ASYNC_DEFAULTS = {
  maxRetries: 1,
  maxAgeSeconds: 3600,
} as const;

export const ASYNC_LIMITS = {
  maxRetries: 8,
  maxAgeSeconds: 86400,
  /** Async request payload (contract §5). */
  eventBytes: 256 * 1024,
  /** Records per page (contract §1.5.5). */
  listLimit: 500,
} as const;
