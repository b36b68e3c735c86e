import type { Clock } from "../core/clock.js";
import { FsError } from "../core/errors.js";
import type { DependencyRef } from "../core/types.js";
import type { BlobStore } from "../blobs/types.js";
import type { RuntimeDef } from "../runtimes/types.js";
import type { DependencyScope, DependencyStore } from "../store/dependencies.js";
import { checkDescription } from "./validate.js";
import {
  DEPENDENCY_NAME,
  intakeDependency,
  type CreateDependencyBody,
  type DependencyPackage,
} from "./dependency-intake.js";

/** Contract §1.8: at most 20 dependency versions per function. */
export const MAX_FUNCTION_DEPENDENCIES = 20;
/** Owner and project of the dependencies that ship with the platform. */
export const PUBLIC_OWNER = "public";
/** Public dependencies are stored under this project id. */
export const PUBLIC_PROJECT = "";

export interface DependencyServiceDeps {
  store: DependencyStore;
  blobs: BlobStore;
  /** Whether function code still uses a blob (the main store's `isDigestReferenced`). */
  codeReferences: (digest: string) => Promise<boolean>;
  runtimes: { get(name: string): RuntimeDef | undefined; names(): string[] };
  clock: Clock;
  /** Directories `depend_link: file://…` may read from (config dependencyRoots). */
  fileRoots: readonly string[];
}

export interface ListDependenciesInput {
  scope: DependencyScope;
  runtime?: string;
  name?: string;
  marker: number;
  maxitems: number;
}

/** Dependency packages (contract §1.8) and their attachment to functions. */
export function createDependencyService(deps: DependencyServiceDeps) {
  const { store } = deps;

  const languageOf = (runtime: string) => deps.runtimes.get(runtime)?.language;

  const checkRuntime = (runtime: string): void => {
    if (!languageOf(runtime)) {
      throw new FsError(
        "INVALID_RUNTIME",
        `runtime "${runtime}" is not offered by this installation; available: ${deps.runtimes.names().join(", ")}`,
      );
    }
  };

  /** Validate, store the blob, record the version. `owner` is the caller's domain id. */
  const addVersion = async (
    projectId: string,
    owner: string,
    body: CreateDependencyBody,
    pkg: DependencyPackage,
    mustBeNew = false,
  ): Promise<DependencyRef> => {
    const { digest, size } = await deps.blobs.put(pkg.zip);
    const ref = await store.addVersion(
      projectId,
      {
        name: body.name,
        owner,
        runtime: body.runtime,
        description: body.description ?? "",
        digest,
        etag: pkg.etag,
        size,
        fileName: pkg.fileName,
        link: pkg.link,
        createdAt: deps.clock.now(),
      },
      { mustBeNew },
    );
    if (!ref) {
      await collect(digest);
      throw new FsError("DEPENDENCY_EXISTS", `The dependency already exists: ${body.name}`);
    }
    return ref;
  };

  const checkBody = (body: CreateDependencyBody): void => {
    if (!DEPENDENCY_NAME.test(body.name)) {
      throw new FsError(
        "INVALID_DEPENDENCY",
        "name must be 1-96 characters of letters, digits, '_', '.' and '-', start with a letter and end with a letter or digit",
      );
    }
    checkDescription(body.description ?? "");
    checkRuntime(body.runtime);
  };

  /** CreateDependencyVersion: a new version of `name` (the first one creates the dependency). */
  const createVersion = async (
    projectId: string,
    owner: string,
    body: CreateDependencyBody,
    opts: { mustBeNew?: boolean } = {},
  ): Promise<DependencyRef> => {
    checkBody(body);
    const pkg = await intakeDependency(body, deps.fileRoots);
    return addVersion(projectId, owner, body, pkg, opts.mustBeNew);
  };

  /** A dependency the project may read: its own or a public one (others are not found). */
  const readableProject = async (projectId: string, dependencyId: string): Promise<string> => {
    const owner = await store.getDependencyProject(dependencyId);
    if (owner === undefined || (owner !== projectId && owner !== PUBLIC_PROJECT)) {
      throw new FsError("DEPENDENCY_NOT_FOUND", `Not found the dependency: ${dependencyId}`);
    }
    return owner;
  };

  const showVersion = async (
    projectId: string,
    dependencyId: string,
    version: string,
  ): Promise<DependencyRef> => {
    await readableProject(projectId, dependencyId);
    const n = /^\d{1,9}$/.test(version) ? Number(version) : NaN;
    const found = Number.isNaN(n) ? undefined : await store.getVersion(dependencyId, n);
    if (!found) {
      throw new FsError(
        "DEPENDENCY_NOT_FOUND",
        `Not found the dependency version: ${dependencyId} version ${version}`,
      );
    }
    return found.version;
  };

  const mustOwn = async (projectId: string, dependencyId: string): Promise<void> => {
    if ((await readableProject(projectId, dependencyId)) === PUBLIC_PROJECT) {
      throw new FsError(
        "DEPENDENCY_INACCESSIBLE",
        "public dependencies belong to the platform and cannot be deleted",
      );
    }
  };

  /** Remove the blob once neither a dependency version nor function code refers to it. */
  const collect = async (digest: string): Promise<void> => {
    if (await store.isDigestReferenced(digest)) return;
    if (await deps.codeReferences(digest)) return;
    await deps.blobs.delete(digest);
  };

  const deleteOne = async (id: string): Promise<void> => {
    const outcome = await store.deleteVersionIfUnused(id);
    if (outcome.kind === "in-use") {
      const users = outcome.usedBy.map((u) => `${u.functionId}:${u.version}`).join(", ");
      throw new FsError(
        "DEPENDENCY_IN_USE",
        `the dependency version is used by ${outcome.usedBy.length} function version(s) (${users}); detach it first`,
      );
    }
    if (outcome.kind === "deleted") await collect(outcome.version.digest);
  };

  const deleteVersion = async (
    projectId: string,
    dependencyId: string,
    version: string,
  ): Promise<void> => {
    await mustOwn(projectId, dependencyId);
    const ref = await showVersion(projectId, dependencyId, version);
    await deleteOne(ref.id);
  };

  /** All versions of a dependency, newest first (they are few: one name, one project). */
  const allVersions = async (dependencyId: string): Promise<DependencyRef[]> =>
    (await store.listVersions(dependencyId, { offset: 0, limit: Number.MAX_SAFE_INTEGER })).items;

  /** The old DeleteDependency: every version, refused (and nothing deleted) while one is in use. */
  const deleteDependency = async (projectId: string, dependencyId: string): Promise<void> => {
    await mustOwn(projectId, dependencyId);
    const versions = await allVersions(dependencyId);
    for (const v of versions) {
      if (await store.isVersionInUse(v.id)) {
        throw new FsError(
          "DEPENDENCY_IN_USE",
          `version ${v.version} of the dependency is used by a function; detach it first`,
        );
      }
    }
    for (const v of versions) await deleteOne(v.id);
  };

  /**
   * Check a function's `depend_version_list` and resolve it (contract §1.8): at most 20 entries
   * (FSS.1045), each an existing version the project may use (FSS.1056), one version per
   * dependency (FSS.1031), built for the function's language (FSS.0424).
   */
  const attach = async (
    projectId: string,
    runtime: string,
    ids: readonly string[],
  ): Promise<DependencyRef[]> => {
    if (ids.length > MAX_FUNCTION_DEPENDENCIES) {
      throw new FsError(
        "DEPENDENCY_QUOTA",
        `at most ${MAX_FUNCTION_DEPENDENCIES} dependencies per function (got ${ids.length})`,
      );
    }
    const refs: DependencyRef[] = [];
    const seen = new Set<string>();
    for (const id of ids) {
      const found = await store.getVersionById(id);
      if (!found || (found.projectId !== projectId && found.projectId !== PUBLIC_PROJECT)) {
        throw new FsError("DEPENDENCY_NOT_FOUND", `Not found the dependency version: ${id}`);
      }
      const ref = found.version;
      if (seen.has(ref.dependencyId)) {
        throw new FsError(
          "DEPENDENCY_ATTACHED_TWICE",
          `dependency ${ref.name} is listed twice; attach one version of it`,
        );
      }
      seen.add(ref.dependencyId);
      if (languageOf(ref.runtime) !== languageOf(runtime)) {
        throw new FsError(
          "DEPENDENCY_RUNTIME_MISMATCH",
          `dependency ${ref.name} version ${ref.version} is for ${ref.runtime}; the function runs ${runtime}`,
        );
      }
      refs.push(ref);
    }
    return refs;
  };

  return {
    createVersion,
    /** Record an already checked package (public dependencies at start-up). */
    addPackage: addVersion,
    list: async (projectId: string, q: ListDependenciesInput) => {
      const r = await store.listDependencies({
        projectId,
        scope: q.scope,
        offset: q.marker,
        limit: q.maxitems,
        ...(q.runtime ? { runtime: q.runtime } : {}),
        ...(q.name ? { name: q.name } : {}),
      });
      return { ...r, nextMarker: q.marker + r.items.length };
    },
    listVersions: async (
      projectId: string,
      dependencyId: string,
      page: { marker: number; maxitems: number },
    ) => {
      await readableProject(projectId, dependencyId);
      const r = await store.listVersions(dependencyId, {
        offset: page.marker,
        limit: page.maxitems,
      });
      return { ...r, nextMarker: page.marker + r.items.length };
    },
    showVersion,
    /** The old ShowDependcy: the newest version of a dependency. */
    showDependency: async (projectId: string, dependencyId: string): Promise<DependencyRef> => {
      await readableProject(projectId, dependencyId);
      const newest = (await store.listVersions(dependencyId, { offset: 0, limit: 1 })).items[0];
      if (!newest)
        throw new FsError("DEPENDENCY_NOT_FOUND", `Not found the dependency: ${dependencyId}`);
      return newest;
    },
    deleteVersion,
    deleteDependency,
    attach,
    /** A version by id, for download links (any project's: the link is the credential). */
    versionById: async (id: string) => (await store.getVersionById(id))?.version,
  };
}

export type DependencyService = ReturnType<typeof createDependencyService>;
