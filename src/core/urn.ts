import { FsError } from "./errors.js";

/** A function reference after parsing any URN short form (contract §1.1). */
export interface FunctionRef {
  region: string;
  projectId: string;
  package: string;
  name: string;
  /** Version name or alias; undefined = latest. */
  qualifier?: Qualifier;
}

export type Qualifier =
  | { kind: "version"; name: string }
  | { kind: "alias"; name: string }
  | { kind: "unknown"; name: string };

export interface UrnDefaults {
  region: string;
  projectId: string;
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,58}[A-Za-z0-9]$|^[A-Za-z]$/;
const PACKAGE = /^[A-Za-z0-9_.-]{1,64}$/;
const QUALIFIER = /^!?[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Parse the 1/2/3/4/7/8-field URN forms. A qualifier with `!` is an alias; `latest` and other
 * bare qualifiers are versions first (kind "unknown" lets the caller fall back to an alias).
 */
export function parseFunctionUrn(input: string, defaults: UrnDefaults): FunctionRef {
  const raw = safeDecode(input.trim());
  if (raw.length === 0 || raw.length > 269)
    throw new FsError("INVALID_PARAMETER", `invalid function urn: ${input}`);
  const parts = raw.split(":");
  let region = defaults.region;
  let projectId = defaults.projectId;
  let pkg = "default";
  let name: string;
  let qualifier: string | undefined;
  switch (parts.length) {
    case 1:
      name = parts[0]!;
      break;
    case 2:
      pkg = parts[0]!;
      name = parts[1]!;
      break;
    case 3:
      projectId = parts[0]!;
      pkg = parts[1]!;
      name = parts[2]!;
      break;
    case 4:
      projectId = parts[0]!;
      pkg = parts[1]!;
      name = parts[2]!;
      qualifier = parts[3]!;
      break;
    case 7:
    case 8:
      if (parts[0] !== "urn" || parts[1] !== "fss" || parts[4] !== "function") {
        throw new FsError("INVALID_PARAMETER", `invalid function urn: ${input}`);
      }
      region = parts[2]!;
      projectId = parts[3]!;
      pkg = parts[5]!;
      name = parts[6]!;
      qualifier = parts[7];
      break;
    default:
      throw new FsError("INVALID_PARAMETER", `invalid function urn: ${input}`);
  }
  if (!NAME.test(name))
    throw new FsError("INVALID_FUNCTION_NAME", `invalid function name in urn: ${name}`);
  if (!PACKAGE.test(pkg)) throw new FsError("INVALID_PACKAGE", `invalid package in urn: ${pkg}`);
  const ref: FunctionRef = { region, projectId, package: pkg, name };
  if (qualifier !== undefined && qualifier !== "") {
    if (!QUALIFIER.test(qualifier))
      throw new FsError("INVALID_VERSION", `invalid qualifier in urn: ${qualifier}`);
    ref.qualifier = qualifier.startsWith("!")
      ? { kind: "alias", name: qualifier.slice(1) }
      : qualifier === "latest"
        ? { kind: "version", name: "latest" }
        : { kind: "unknown", name: qualifier };
  }
  return ref;
}

function safeDecode(s: string): string {
  if (!s.includes("%")) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The 7-field URN of a function (no qualifier). */
export function toFunctionUrn(
  ref: Pick<FunctionRef, "region" | "projectId" | "package" | "name">,
): string {
  return `urn:fss:${ref.region}:${ref.projectId}:function:${ref.package}:${ref.name}`;
}

/** The 8-field URN of a version (`latest`, `v1`) or an alias (`!a1`). */
export function toQualifiedUrn(
  ref: Pick<FunctionRef, "region" | "projectId" | "package" | "name">,
  qualifier: string,
): string {
  return `${toFunctionUrn(ref)}:${qualifier}`;
}

export function isValidFunctionName(name: string): boolean {
  return NAME.test(name);
}
