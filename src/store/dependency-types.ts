import type { DependencyRef } from "../core/types.js";

/** Which dependencies a listing shows: the caller's own, the platform's public ones, or both. */
export type DependencyScope = "private" | "public" | "all";

export interface ListDependenciesQuery {
  /** The caller's project; public dependencies are stored under project "". */
  projectId: string;
  scope: DependencyScope;
  runtime?: string;
  /** Substring of the name. */
  name?: string;
  offset: number;
  limit: number;
}

/** A new version to record; id, dependency id and number are assigned by the store. */
export type NewDependencyVersion = Omit<DependencyRef, "id" | "dependencyId" | "version">;

export type DeleteOutcome =
  | { kind: "deleted"; version: DependencyRef }
  | { kind: "missing" }
  | { kind: "in-use"; usedBy: { functionId: string; version: string }[] };

/**
 * Dependency packages and their versions (contract §1.8). A dependency is a name within a
 * project (`""` = public); its versions are numbered 1, 2, … and never renumbered.
 */
export interface DependencyStore {
  /**
   * Record a new version of `projectId`'s dependency `v.name`, creating the dependency on first
   * use. With `mustBeNew`, returns undefined instead when the name already exists.
   */
  addVersion(
    projectId: string,
    v: NewDependencyVersion,
    opts?: { mustBeNew?: boolean },
  ): Promise<DependencyRef | undefined>;
  getVersionById(id: string): Promise<{ projectId: string; version: DependencyRef } | undefined>;
  getVersion(
    dependencyId: string,
    version: number,
  ): Promise<{ projectId: string; version: DependencyRef } | undefined>;
  /** The project (`""` = public) owning a dependency, if it exists. */
  getDependencyProject(dependencyId: string): Promise<string | undefined>;
  /** One row per dependency: its newest version. Public first, then by name. */
  listDependencies(q: ListDependenciesQuery): Promise<{ items: DependencyRef[]; total: number }>;
  listVersions(
    dependencyId: string,
    page: { offset: number; limit: number },
  ): Promise<{ items: DependencyRef[]; total: number }>;
  /**
   * Delete one version unless a function version (latest or published) lists it, in one
   * transaction; the dependency goes too once its last version is gone.
   */
  deleteVersionIfUnused(id: string): Promise<DeleteOutcome>;
  /** Whether a function version (latest or published) lists this dependency version. */
  isVersionInUse(id: string): Promise<boolean>;
  /** Whether any dependency version is stored under this blob digest (for blob GC). */
  isDigestReferenced(digest: string): Promise<boolean>;
  close(): Promise<void>;
}
