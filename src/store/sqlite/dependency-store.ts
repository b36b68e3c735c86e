import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { DependencyRef } from "../../core/types.js";
import type {
  DeleteOutcome,
  DependencyStore,
  ListDependenciesQuery,
  NewDependencyVersion,
} from "../dependency-types.js";
import { toDependencyVersion } from "../rows.js";
import { openDatabase } from "./open.js";

const count = (row: unknown): number => z.object({ n: z.number() }).parse(row).n;

const SELECT_VERSION =
  "SELECT v.data, d.project_id FROM dependency_versions v JOIN dependencies d ON d.id = v.dependency_id";

/** Dependencies on SQLite, on their own connection to the main store's (migrated) file. */
export function createSqliteDependencyStore(file: string): DependencyStore {
  if (file === ":memory:") throw new Error("dependencies need a database file, not :memory:");
  const db = openDatabase(file);

  const q = {
    findDep: db.prepare(
      "SELECT id, next_version FROM dependencies WHERE project_id = ? AND name = ?",
    ),
    insertDep: db.prepare(
      "INSERT INTO dependencies (id, project_id, name, next_version, created_at) VALUES (?, ?, ?, 1, ?)",
    ),
    bumpDep: db.prepare("UPDATE dependencies SET next_version = next_version + 1 WHERE id = ?"),
    insertVersion: db.prepare(
      "INSERT INTO dependency_versions (id, dependency_id, version, runtime, digest, data) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    byId: db.prepare(`${SELECT_VERSION} WHERE v.id = ?`),
    byNumber: db.prepare(`${SELECT_VERSION} WHERE v.dependency_id = ? AND v.version = ?`),
    depProject: db.prepare("SELECT project_id FROM dependencies WHERE id = ?"),
    countVersions: db.prepare(
      "SELECT count(*) AS n FROM dependency_versions WHERE dependency_id = ?",
    ),
    listVersions: db.prepare(
      `${SELECT_VERSION} WHERE v.dependency_id = ? ORDER BY v.version DESC LIMIT ? OFFSET ?`,
    ),
    // Every function version (latest or published) that lists the dependency version.
    usage: db.prepare(
      `SELECT function_id, version FROM versions
       WHERE EXISTS (SELECT 1 FROM json_each(versions.data, '$.dependVersionList') WHERE value = ?)`,
    ),
    deleteVersion: db.prepare("DELETE FROM dependency_versions WHERE id = ?"),
    deleteDep: db.prepare("DELETE FROM dependencies WHERE id = ?"),
    digestRef: db.prepare("SELECT 1 FROM dependency_versions WHERE digest = ? LIMIT 1"),
  };
  const depRow = z.object({ id: z.string(), next_version: z.number() });

  const addVersion = db.transaction(
    (projectId: string, v: NewDependencyVersion, mustBeNew: boolean) => {
      const found = q.findDep.get(projectId, v.name);
      let dependencyId: string;
      let number = 1;
      if (found) {
        if (mustBeNew) return undefined;
        const row = depRow.parse(found);
        dependencyId = row.id;
        number = row.next_version;
      } else {
        dependencyId = randomUUID();
        q.insertDep.run(dependencyId, projectId, v.name, v.createdAt);
      }
      q.bumpDep.run(dependencyId);
      const ref: DependencyRef = { ...v, id: randomUUID(), dependencyId, version: number };
      q.insertVersion.run(
        ref.id,
        dependencyId,
        number,
        ref.runtime,
        ref.digest,
        JSON.stringify(ref),
      );
      return ref;
    },
  );

  const deleteVersion = db.transaction((id: string): DeleteOutcome => {
    const row = q.byId.get(id);
    if (!row) return { kind: "missing" };
    const { version } = toDependencyVersion(row);
    const usedBy = q.usage
      .all(id)
      .map((r) => z.object({ function_id: z.string(), version: z.string() }).parse(r))
      .map((r) => ({ functionId: r.function_id, version: r.version }));
    if (usedBy.length > 0) return { kind: "in-use", usedBy };
    q.deleteVersion.run(id);
    if (count(q.countVersions.get(version.dependencyId)) === 0)
      q.deleteDep.run(version.dependencyId);
    return { kind: "deleted", version };
  });

  const list = (lq: ListDependenciesQuery) => {
    const where = [
      "v.version = (SELECT max(version) FROM dependency_versions WHERE dependency_id = d.id)",
    ];
    const args: unknown[] = [];
    if (lq.scope === "private") {
      where.push("d.project_id = ?");
      args.push(lq.projectId);
    } else if (lq.scope === "public") {
      where.push("d.project_id = ''");
    } else {
      where.push("d.project_id IN ('', ?)");
      args.push(lq.projectId);
    }
    if (lq.runtime) {
      where.push("v.runtime = ?");
      args.push(lq.runtime);
    }
    if (lq.name) {
      where.push("instr(d.name, ?) > 0");
      args.push(lq.name);
    }
    const from = `FROM dependency_versions v JOIN dependencies d ON d.id = v.dependency_id WHERE ${where.join(" AND ")}`;
    const total = count(db.prepare(`SELECT count(*) AS n ${from}`).get(...args));
    const rows = db
      .prepare(
        `SELECT v.data, d.project_id ${from} ORDER BY d.project_id != '', d.name LIMIT ? OFFSET ?`,
      )
      .all(...args, lq.limit, lq.offset);
    return { items: rows.map((r) => toDependencyVersion(r).version), total };
  };

  let closed = false;
  return {
    addVersion: async (projectId, v, opts) => addVersion(projectId, v, opts?.mustBeNew ?? false),
    getVersionById: async (id) => {
      const row = q.byId.get(id);
      return row ? toDependencyVersion(row) : undefined;
    },
    getVersion: async (dependencyId, version) => {
      const row = q.byNumber.get(dependencyId, version);
      return row ? toDependencyVersion(row) : undefined;
    },
    getDependencyProject: async (dependencyId) => {
      const row = q.depProject.get(dependencyId);
      return row ? z.object({ project_id: z.string() }).parse(row).project_id : undefined;
    },
    listDependencies: async (lq) => list(lq),
    listVersions: async (dependencyId, page) => ({
      items: q.listVersions
        .all(dependencyId, page.limit, page.offset)
        .map((r) => toDependencyVersion(r).version),
      total: count(q.countVersions.get(dependencyId)),
    }),
    deleteVersionIfUnused: async (id) => deleteVersion(id),
    isVersionInUse: async (id) => q.usage.get(id) !== undefined,
    isDigestReferenced: async (digest) => q.digestRef.get(digest) !== undefined,
    close: async () => {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
