import type { FunctionAlias, FunctionRecord } from "../core/types.js";
import { toQualifiedUrn } from "../core/urn.js";
import { toWireTime, type WireContext } from "./wire.js";

/** Alias model of contract §1.6 (create/show/update); `list` drops the strategy. */
export function toAliasModel(
  fn: FunctionRecord,
  a: FunctionAlias,
  ctx: WireContext,
  opts: { list?: boolean } = {},
): Record<string, unknown> {
  const model: Record<string, unknown> = {
    name: a.name,
    version: a.version,
    description: a.description,
    last_modified: toWireTime(a.lastModified),
    alias_urn: toQualifiedUrn(
      { region: ctx.region, projectId: fn.projectId, package: fn.package, name: fn.name },
      `!${a.name}`,
    ),
    additional_version_weights: a.additionalVersionWeights,
  };
  if (opts.list) return model;
  model["additional_version_strategy"] = Object.fromEntries(
    Object.entries(a.additionalVersionStrategy).map(([version, s]) => [
      version,
      {
        combine_type: s.combineType,
        rules: s.rules.map((r) => ({
          rule_type: r.ruleType,
          param: r.param,
          op: r.op,
          value: r.value,
        })),
      },
    ]),
  );
  return model;
}
