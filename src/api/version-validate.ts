import { z } from "zod";
import { FsError } from "../core/errors.js";
import type { AliasRule, AliasStrategy } from "../core/types.js";

/** Contract §5: 20 versions including latest, 10 aliases per function. */
export const MAX_VERSIONS = 20;
export const MAX_ALIASES = 10;

/**
 * Version names (contract: naming rule UNCONFIRMED). Ours: 1-64 characters of letters, digits,
 * `_`, `.` and `-`, starting with a letter or digit, so that every name is a valid URN qualifier.
 */
const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Alias names: 1-64, `[A-Za-z0-9_-]`, start with a letter, end with a letter or digit. */
const ALIAS_NAME = /^[A-Za-z](?:[A-Za-z0-9_-]{0,62}[A-Za-z0-9])?$/;
/** Header (or cookie) names in rules. */
const RULE_PARAM = /^[A-Za-z0-9_-]{1,128}$/;

export const publishBody = z
  .object({
    version: z.string().optional(),
    description: z.string().optional(),
    digest: z.string().optional(),
  })
  .loose();
export type PublishBody = z.infer<typeof publishBody>;

const aliasFields = {
  version: z.string().optional(),
  description: z.string().optional(),
  additional_version_weights: z.record(z.string(), z.unknown()).nullish(),
  additional_version_strategy: z.record(z.string(), z.unknown()).nullish(),
};
export const createAliasBody = z.object({ name: z.string().optional(), ...aliasFields }).loose();
export type CreateAliasBody = z.infer<typeof createAliasBody>;
export const updateAliasBody = z.object(aliasFields).loose();
export type UpdateAliasBody = z.infer<typeof updateAliasBody>;

export function checkVersionName(name: string): void {
  if (name === "latest")
    throw new FsError("INVALID_VERSION", "latest is reserved for the mutable version");
  if (!VERSION_NAME.test(name)) {
    throw new FsError(
      "INVALID_VERSION",
      "version must be 1-64 characters of letters, digits, '_', '.' and '-', starting with a letter or digit",
    );
  }
}

export function checkAliasName(name: string | undefined): string {
  if (name === undefined || !ALIAS_NAME.test(name) || name === "latest") {
    throw new FsError(
      "INVALID_ALIAS",
      "alias name must be 1-64 characters of letters, digits, '_' and '-', start with a letter, end with a letter or digit, and not be 'latest'",
    );
  }
  return name;
}

/** The generated version name `vYYYYMMDD-HHMMSS` (UTC). */
export function generatedVersionName(nowMs: number): string {
  const iso = new Date(nowMs).toISOString(); // 2026-03-17T10:13:22.123Z
  return `v${iso.slice(0, 10).replace(/-/g, "")}-${iso.slice(11, 19).replace(/:/g, "")}`;
}

/** Parse `additional_version_weights` (values must be integers 0..100: FSS.1092). */
export function parseWeights(
  raw: Record<string, unknown> | null | undefined,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [version, w] of Object.entries(raw ?? {})) {
    if (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 100) {
      throw new FsError(
        "INVALID_VERSION_WEIGHT",
        `the weight of version ${version} must be an integer from 0 to 100`,
      );
    }
    out[version] = w;
  }
  return out;
}

const ruleShape = z.object({
  rule_type: z.string(),
  param: z.string(),
  op: z.string(),
  value: z.string(),
});
const strategyShape = z.object({
  combine_type: z.string().optional(),
  rules: z.array(z.unknown()),
});

/** Parse `additional_version_strategy`; malformed rules are 400 FSS.0400 naming the field. */
export function parseStrategy(
  raw: Record<string, unknown> | null | undefined,
): Record<string, AliasStrategy> {
  const out: Record<string, AliasStrategy> = {};
  for (const [version, s] of Object.entries(raw ?? {})) {
    const where = `additional_version_strategy.${version}`;
    const st = strategyShape.safeParse(s);
    if (!st.success) throw new FsError("INVALID_PARAMETER", `invalid ${where}: needs rules`);
    const combine = (st.data.combine_type ?? "and").toLowerCase();
    if (combine !== "and" && combine !== "or")
      throw new FsError("INVALID_PARAMETER", `invalid ${where}.combine_type: use and or or`);
    const rules: AliasRule[] = st.data.rules.map((r, i) => {
      const at = `${where}.rules.${i}`;
      const p = ruleShape.safeParse(r);
      if (!p.success)
        throw new FsError("INVALID_PARAMETER", `invalid ${at}: needs rule_type, param, op, value`);
      const ruleType = p.data.rule_type.toLowerCase();
      if (ruleType !== "header" && ruleType !== "cookie")
        throw new FsError("INVALID_PARAMETER", `invalid ${at}.rule_type: use header or cookie`);
      if (!RULE_PARAM.test(p.data.param))
        throw new FsError("INVALID_PARAMETER", `invalid ${at}.param: [A-Za-z0-9_-] only`);
      const op = p.data.op.toLowerCase();
      if (op !== "=" && op !== "in")
        throw new FsError("INVALID_PARAMETER", `invalid ${at}.op: use = or in`);
      if (p.data.value === "")
        throw new FsError("INVALID_PARAMETER", `invalid ${at}.value: must not be empty`);
      return { ruleType, param: p.data.param, op, value: p.data.value };
    });
    if (rules.length === 0)
      throw new FsError("INVALID_PARAMETER", `invalid ${where}.rules: give at least one rule`);
    out[version] = { combineType: combine, rules };
  }
  return out;
}
