import type { DependencyRef } from "../core/types.js";

/**
 * A dependency version on the wire (contract §1.8): `id` is the version id (what goes into
 * `depend_version_list`), `dep_id` the dependency's, `last_modified` epoch seconds.
 * Also the shape of the function model's `dependencies` items (contract §1.2).
 */
export function toDependencyVersionModel(d: DependencyRef): Record<string, unknown> {
  return {
    id: d.id,
    dep_id: d.dependencyId,
    owner: d.owner,
    link: d.link,
    runtime: d.runtime,
    etag: d.etag,
    size: d.size,
    name: d.name,
    description: d.description,
    file_name: d.fileName,
    version: d.version,
    last_modified: Math.floor(d.createdAt / 1000),
    is_shared: d.owner === "public",
  };
}

/** ListDependencies item: one dependency (`id` = dependency id) shown by its newest version. */
export function toDependencyListItem(d: DependencyRef): Record<string, unknown> {
  return {
    id: d.dependencyId,
    owner: d.owner,
    link: d.link,
    runtime: d.runtime,
    etag: d.etag,
    size: d.size,
    name: d.name,
    description: d.description,
    file_name: d.fileName,
    version: d.version,
    last_modified: Math.floor(d.createdAt / 1000),
  };
}

/** The `depend_list` of a function model: the dependency ids of its attached versions. */
export function toDependList(deps: readonly DependencyRef[] | undefined): string[] {
  return [...new Set((deps ?? []).map((d) => d.dependencyId))];
}
