import type { AliasRule, AliasStrategy, FunctionAlias } from "../core/types.js";

/** A source of uniform numbers in [0, 1). */
export type RandomSource = () => number;

/** Why a version was picked, for logs and tests. */
export type RouteReason = "rule" | "weight" | "main";

export interface RouteDecision {
  version: string;
  reason: RouteReason;
}

/**
 * mulberry32: a small, fast, seedable PRNG. Deterministic for a seed, so router tests can
 * assert on exact sequences; production uses Math.random.
 */
export function createSeededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cookie header → name/value map (first occurrence wins). */
function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const k = part.slice(0, eq).trim();
    if (!out.has(k)) out.set(k, part.slice(eq + 1).trim());
  }
  return out;
}

function ruleMatches(
  rule: AliasRule,
  headers: Record<string, string>,
  cookies: () => Map<string, string>,
): boolean {
  // Header names are case-insensitive (the map is lower-cased); cookie names are not.
  const actual =
    rule.ruleType.toLowerCase() === "cookie"
      ? cookies().get(rule.param)
      : headers[rule.param.toLowerCase()];
  if (actual === undefined) return false;
  if (rule.op === "=") return actual === rule.value;
  return rule.value
    .split(",")
    .map((v) => v.trim())
    .includes(actual.trim());
}

/** Whether a strategy's rules match the request (an empty rule list never matches). */
export function strategyMatches(s: AliasStrategy, headers: Record<string, string>): boolean {
  if (s.rules.length === 0) return false;
  let jar: Map<string, string> | undefined;
  const cookies = (): Map<string, string> => (jar ??= parseCookies(headers["cookie"]));
  const test = (r: AliasRule): boolean => ruleMatches(r, headers, cookies);
  return s.combineType === "or" ? s.rules.some(test) : s.rules.every(test);
}

/**
 * Pick the version an invocation through `alias` runs (contract §1.6): header rules first (a
 * match sends the call to the additional version), then weights (the additional version with
 * probability w/100), else the main version.
 *
 * @param headers lower-cased request header names → values
 */
export function routeAlias(
  alias: Pick<FunctionAlias, "version" | "additionalVersionWeights" | "additionalVersionStrategy">,
  headers: Record<string, string>,
  random: RandomSource,
): RouteDecision {
  for (const [version, strategy] of Object.entries(alias.additionalVersionStrategy)) {
    if (strategyMatches(strategy, headers)) return { version, reason: "rule" };
  }
  for (const [version, weight] of Object.entries(alias.additionalVersionWeights)) {
    if (weight > 0 && random() * 100 < weight) return { version, reason: "weight" };
  }
  return { version: alias.version, reason: "main" };
}
