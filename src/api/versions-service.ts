import { FsError } from "../core/errors.js";
import type { FunctionAlias, FunctionRecord, FunctionVersion } from "../core/types.js";
import type { FunctionRef } from "../core/urn.js";
import type { BlobStore } from "../blobs/types.js";
import type { Invoker } from "../invoker/invoker.js";
import type { Store } from "../store/index.js";
import { checkDescription } from "./validate.js";
import {
  checkAliasName,
  checkVersionName,
  generatedVersionName,
  MAX_ALIASES,
  MAX_VERSIONS,
  parseStrategy,
  parseWeights,
  type CreateAliasBody,
  type PublishBody,
  type UpdateAliasBody,
} from "./version-validate.js";

/**
 * Extension points for per-version state owned by other features. The async-invocation feature
 * snapshots its async config in `published` (contract §1.2 `function_async_config`, §1.9) and
 * drops it in `deleting`; the trigger feature deletes a version's triggers in `deleting` and
 * answers `triggerCount` so an alias with triggers cannot be deleted (FSS.1154).
 */
export interface VersionHooks {
  /** After `version` was published from latest: copy latest's per-version state to it. */
  published?(fn: FunctionRecord, version: FunctionVersion): Promise<void>;
  /** Before a version (or, with `version` undefined, the whole function) is deleted. */
  deleting?(fn: FunctionRecord, version?: string): Promise<void>;
  /** Triggers bound to a qualifier: a version name or `!alias`. */
  triggerCount?(fn: FunctionRecord, qualifier: string): Promise<number>;
  /** Async config of a version, shown as `function_async_config` on publish. */
  asyncConfig?(fn: FunctionRecord, version: string): Promise<Record<string, unknown> | null>;
}

export interface VersionServiceDeps {
  store: Store;
  blobs: BlobStore;
  invoker: Pick<Invoker, "retire">;
  hooks: VersionHooks;
  nowMs: () => number;
  findFunction(projectId: string, urn: string): Promise<{ fn: FunctionRecord; ref: FunctionRef }>;
  mustVersion(fn: FunctionRecord, name: string): Promise<FunctionVersion>;
}

/** Stable JSON (sorted keys) so that equal snapshots compare equal. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/**
 * What a publish snapshots: the whole version record except its identity and bookkeeping, so
 * fields added to FunctionVersion later count as changes without touching this function.
 */
function fingerprint(v: FunctionVersion): string {
  return stable({
    ...v,
    functionId: "",
    version: "",
    versionDescription: "",
    revision: 0,
    lastModified: "",
  });
}

/** Versions (publish, list, delete) and aliases (CRUD) of contract §1.6. */
export function createVersionService(deps: VersionServiceDeps) {
  const { store, hooks } = deps;
  const nowIso = (): string => new Date(deps.nowMs()).toISOString();

  const publish = async (
    projectId: string,
    urn: string,
    body: PublishBody,
  ): Promise<{ fn: FunctionRecord; version: FunctionVersion }> => {
    const { fn, ref } = await deps.findFunction(projectId, urn);
    const q = ref.qualifier;
    if (q && (q.kind === "alias" || q.name !== "latest"))
      throw new FsError("INVALID_VERSION", "versions are published from latest");
    const description = body.description ?? "";
    checkDescription(description);
    const latest = await deps.mustVersion(fn, "latest");
    if (body.digest !== undefined && body.digest !== "" && body.digest !== latest.codeDigest) {
      throw new FsError(
        "INVALID_PARAMETER",
        "digest does not match the code of latest (latest changed since you read it)",
      );
    }
    const name =
      body.version === undefined || body.version === ""
        ? generatedVersionName(deps.nowMs())
        : body.version;
    checkVersionName(name);
    const versions = await store.listVersions(fn.id);
    if (versions.some((v) => v.version === name))
      throw new FsError("VERSION_EXISTS", `The version already exists: ${name}`);
    if (versions.length >= MAX_VERSIONS) {
      throw new FsError(
        "VERSION_QUOTA",
        `at most ${MAX_VERSIONS} versions per function, latest included; delete a version first`,
      );
    }
    const last = versions.filter((v) => v.version !== "latest").at(-1);
    if (last && fingerprint(last) === fingerprint(latest)) {
      throw new FsError(
        "NOTHING_CHANGED",
        `nothing changed in latest since version ${last.version} was published`,
      );
    }
    const snapshot: FunctionVersion = {
      ...structuredClone(latest),
      version: name,
      versionDescription: description,
      revision: 1,
      lastModified: nowIso(),
    };
    await store.putVersion(snapshot);
    await hooks.published?.(fn, snapshot);
    return { fn, version: snapshot };
  };

  const listVersions = async (
    projectId: string,
    urn: string,
    page: { marker: number; maxitems: number },
  ) => {
    const { fn } = await deps.findFunction(projectId, urn);
    const all = await store.listVersions(fn.id);
    const items = all.slice(page.marker, page.marker + page.maxitems);
    return { fn, items, total: all.length, nextMarker: page.marker + items.length };
  };

  /** Delete one published version (and the aliases pointing at it). */
  const deleteVersion = async (fn: FunctionRecord, name: string): Promise<void> => {
    if (name === "latest") {
      throw new FsError(
        "INVALID_VERSION",
        "latest cannot be deleted on its own; delete the function (URN without a version)",
      );
    }
    const v = await deps.mustVersion(fn, name);
    const aliases = await store.listAliases(fn.id);
    const user = aliases.find((a) => additionalOf(a) === name);
    if (user) {
      throw new FsError(
        "VERSION_USED_AS_ADDITIONAL",
        `version ${name} is the additional version of alias ${user.name}`,
      );
    }
    await hooks.deleting?.(fn, name);
    await store.deleteVersion(fn.id, name);
    // Running calls finish on the retired pool; its instances then stop.
    deps.invoker.retire(fn.id, name);
    if (!(await store.isDigestReferenced(v.codeDigest))) await deps.blobs.delete(v.codeDigest);
  };

  const mustAlias = async (fn: FunctionRecord, name: string): Promise<FunctionAlias> => {
    const a = await store.getAlias(fn.id, name);
    if (!a) throw new FsError("ALIAS_NOT_FOUND", `Not found the function alias: ${name}`);
    return a;
  };

  /** Validate the target versions of an alias (shared by create and update). */
  const aliasTargets = async (
    fn: FunctionRecord,
    selfName: string,
    body: UpdateAliasBody,
  ): Promise<
    Pick<FunctionAlias, "version" | "additionalVersionWeights" | "additionalVersionStrategy">
  > => {
    if (body.version === undefined || body.version === "")
      throw new FsError("INVALID_VERSION", "version is required");
    const main = body.version;
    await deps.mustVersion(fn, main);
    const weights = parseWeights(body.additional_version_weights);
    const strategy = parseStrategy(body.additional_version_strategy);
    const extra = new Set([...Object.keys(weights), ...Object.keys(strategy)]);
    if (extra.size > 1) {
      throw new FsError(
        "INVALID_ADDITIONAL_VERSION",
        "an alias points to at most one additional version",
      );
    }
    for (const x of extra) {
      if (x === main) {
        throw new FsError(
          "ADDITIONAL_VERSION_IS_MAIN",
          `the additional version ${x} is the main version`,
        );
      }
      if (x === "latest")
        throw new FsError("INVALID_ADDITIONAL_VERSION", "latest cannot be an additional version");
      if (!(await store.getVersion(fn.id, x)))
        throw new FsError("INVALID_ADDITIONAL_VERSION", `no version ${x} to add`);
    }
    const others = (await store.listAliases(fn.id)).filter((a) => a.name !== selfName);
    const bound = others.find((a) => a.version === main);
    if (bound) {
      throw new FsError(
        "VERSION_BOUND_TO_ALIAS",
        `version ${main} is already bound to alias ${bound.name}`,
      );
    }
    return {
      version: main,
      additionalVersionWeights: weights,
      additionalVersionStrategy: strategy,
    };
  };

  const createAlias = async (
    projectId: string,
    urn: string,
    body: CreateAliasBody,
  ): Promise<{ fn: FunctionRecord; alias: FunctionAlias }> => {
    const { fn } = await deps.findFunction(projectId, urn);
    const name = checkAliasName(body.name);
    const description = body.description ?? "";
    checkDescription(description);
    if (await store.getAlias(fn.id, name))
      throw new FsError("ALIAS_EXISTS", `The alias already exists: ${name}`);
    if ((await store.listAliases(fn.id)).length >= MAX_ALIASES)
      throw new FsError("ALIAS_QUOTA", `at most ${MAX_ALIASES} aliases per function`);
    const targets = await aliasTargets(fn, name, body);
    const now = nowIso();
    const alias: FunctionAlias = {
      functionId: fn.id,
      name,
      description,
      ...targets,
      createdAt: now,
      lastModified: now,
    };
    if (!(await store.createAlias(alias)))
      throw new FsError("ALIAS_EXISTS", `The alias already exists: ${name}`);
    return { fn, alias };
  };

  /**
   * PUT replaces the targets: weights and rules not sent are removed (so moving the main version
   * to the old additional one needs no extra step); a description not sent is kept.
   */
  const updateAlias = async (
    projectId: string,
    urn: string,
    name: string,
    body: UpdateAliasBody,
  ): Promise<{ fn: FunctionRecord; alias: FunctionAlias }> => {
    const { fn } = await deps.findFunction(projectId, urn);
    const old = await mustAlias(fn, name);
    const description = body.description ?? old.description;
    checkDescription(description);
    const targets = await aliasTargets(fn, name, body);
    const alias: FunctionAlias = { ...old, ...targets, description, lastModified: nowIso() };
    await store.putAlias(alias);
    return { fn, alias };
  };

  const getAlias = async (projectId: string, urn: string, name: string) => {
    const { fn } = await deps.findFunction(projectId, urn);
    return { fn, alias: await mustAlias(fn, name) };
  };

  const listAliases = async (projectId: string, urn: string) => {
    const { fn } = await deps.findFunction(projectId, urn);
    return { fn, aliases: await store.listAliases(fn.id) };
  };

  const deleteAlias = async (projectId: string, urn: string, name: string): Promise<void> => {
    const { fn } = await deps.findFunction(projectId, urn);
    await mustAlias(fn, name);
    if (((await hooks.triggerCount?.(fn, `!${name}`)) ?? 0) > 0)
      throw new FsError("ALIAS_HAS_TRIGGERS", `alias ${name} has triggers; delete them first`);
    await store.deleteAlias(fn.id, name);
  };

  return {
    publish,
    listVersions,
    deleteVersion,
    mustAlias,
    createAlias,
    updateAlias,
    getAlias,
    listAliases,
    deleteAlias,
  };
}

/** The one additional version of an alias, if any. */
export function additionalOf(a: FunctionAlias): string | undefined {
  return Object.keys(a.additionalVersionStrategy)[0] ?? Object.keys(a.additionalVersionWeights)[0];
}

export type VersionService = ReturnType<typeof createVersionService>;
