import { randomUUID } from "node:crypto";
import type pg from "pg";
import { z } from "zod";
import type { DependencyRef } from "../../core/types.js";
import type {
  DeleteOutcome,
  DependencyStore,
  ListDependenciesQuery,
  NewDependencyVersion,
} from "../dependency-types.js";
import { toDependencyVersion } from "../rows.js";
import { createPool, transaction, type PostgresTarget } from "./connect.js";

const count = (rows: unknown[]): number => z.object({ n: z.coerce.number() }).parse(rows[0]).n;

const SELECT_VERSION =
  "SELECT v.data, d.project_id FROM dependency_versions v JOIN dependencies d ON d.id = v.dependency_id";
/**
 * Function versions (latest or published) whose dependVersionList holds $1. `@>` on a JSON array
 * matches an element, on a scalar the scalar itself, as SQLite's json_each does.
 */
const USAGE = `SELECT function_id, version FROM versions
  WHERE (data::jsonb -> 'dependVersionList') @> to_jsonb($1::text)`;

/**
 * Dependencies on PostgreSQL, on their own pool to the main store's (migrated) schema. Versions
 * of one dependency are numbered under a row lock on the dependency, so concurrent uploads (other
 * nodes too) never share a number.
 */
export function createPostgresDependencyStore(
  target: PostgresTarget,
  poolSize = 4,
): DependencyStore {
  const pool = createPool(target, poolSize);

  const addVersion = async (
    c: pg.PoolClient,
    projectId: string,
    v: NewDependencyVersion,
    mustBeNew: boolean,
  ): Promise<DependencyRef | undefined> => {
    for (;;) {
      let dependencyId: string;
      let number = 1;
      const created = await c.query<{ id: string }>(
        `INSERT INTO dependencies (id, project_id, name, next_version, created_at) VALUES ($1, $2, $3, 1, $4)
         ON CONFLICT (project_id, name) DO NOTHING RETURNING id`,
        [randomUUID(), projectId, v.name, v.createdAt],
      );
      if (created.rows[0]) {
        dependencyId = created.rows[0].id;
      } else {
        if (mustBeNew) return undefined;
        const found = await c.query(
          "SELECT id, next_version FROM dependencies WHERE project_id = $1 AND name = $2 FOR UPDATE",
          [projectId, v.name],
        );
        // Deleted (its last version) between the two statements: try again.
        if (!found.rows[0]) continue;
        const row = z.object({ id: z.string(), next_version: z.number() }).parse(found.rows[0]);
        dependencyId = row.id;
        number = row.next_version;
      }
      await c.query("UPDATE dependencies SET next_version = next_version + 1 WHERE id = $1", [
        dependencyId,
      ]);
      const ref: DependencyRef = { ...v, id: randomUUID(), dependencyId, version: number };
      await c.query(
        "INSERT INTO dependency_versions (id, dependency_id, version, runtime, digest, data) VALUES ($1, $2, $3, $4, $5, $6)",
        [ref.id, dependencyId, number, ref.runtime, ref.digest, JSON.stringify(ref)],
      );
      return ref;
    }
  };

  const deleteVersion = async (c: pg.PoolClient, id: string): Promise<DeleteOutcome> => {
    const row: unknown = (await c.query(`${SELECT_VERSION} WHERE v.id = $1 FOR UPDATE OF d`, [id]))
      .rows[0];
    if (!row) return { kind: "missing" };
    const { version } = toDependencyVersion(row);
    const usedBy = (await c.query(USAGE, [id])).rows
      .map((r) => z.object({ function_id: z.string(), version: z.string() }).parse(r))
      .map((r) => ({ functionId: r.function_id, version: r.version }));
    if (usedBy.length > 0) return { kind: "in-use", usedBy };
    await c.query("DELETE FROM dependency_versions WHERE id = $1", [id]);
    const left = await c.query(
      "SELECT count(*) AS n FROM dependency_versions WHERE dependency_id = $1",
      [version.dependencyId],
    );
    if (count(left.rows) === 0)
      await c.query("DELETE FROM dependencies WHERE id = $1", [version.dependencyId]);
    return { kind: "deleted", version };
  };

  const list = async (lq: ListDependenciesQuery) => {
    const where = [
      "v.version = (SELECT max(version) FROM dependency_versions WHERE dependency_id = d.id)",
    ];
    const args: unknown[] = [];
    if (lq.scope === "private") {
      args.push(lq.projectId);
      where.push(`d.project_id = $${args.length}`);
    } else if (lq.scope === "public") {
      where.push("d.project_id = ''");
    } else {
      args.push(lq.projectId);
      where.push(`d.project_id IN ('', $${args.length})`);
    }
    if (lq.runtime) {
      args.push(lq.runtime);
      where.push(`v.runtime = $${args.length}`);
    }
    if (lq.name) {
      args.push(lq.name);
      where.push(`strpos(d.name, $${args.length}) > 0`);
    }
    const from = `FROM dependency_versions v JOIN dependencies d ON d.id = v.dependency_id WHERE ${where.join(" AND ")}`;
    const total = count((await pool.query(`SELECT count(*) AS n ${from}`, args)).rows);
    const rows = await pool.query(
      `SELECT v.data, d.project_id ${from} ORDER BY d.project_id <> '', d.name
       LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
      [...args, lq.limit, lq.offset],
    );
    return { items: rows.rows.map((r) => toDependencyVersion(r).version), total };
  };

  let closed = false;
  return {
    addVersion: async (projectId, v, opts) =>
      transaction(pool, (c) => addVersion(c, projectId, v, opts?.mustBeNew ?? false)),
    getVersionById: async (id) => {
      const row: unknown = (await pool.query(`${SELECT_VERSION} WHERE v.id = $1`, [id])).rows[0];
      return row ? toDependencyVersion(row) : undefined;
    },
    getVersion: async (dependencyId, version) => {
      const row: unknown = (
        await pool.query(`${SELECT_VERSION} WHERE v.dependency_id = $1 AND v.version = $2`, [
          dependencyId,
          version,
        ])
      ).rows[0];
      return row ? toDependencyVersion(row) : undefined;
    },
    getDependencyProject: async (dependencyId) => {
      const row: unknown = (
        await pool.query("SELECT project_id FROM dependencies WHERE id = $1", [dependencyId])
      ).rows[0];
      return row ? z.object({ project_id: z.string() }).parse(row).project_id : undefined;
    },
    listDependencies: async (lq) => list(lq),
    listVersions: async (dependencyId, page) => {
      const items = await pool.query(
        `${SELECT_VERSION} WHERE v.dependency_id = $1 ORDER BY v.version DESC LIMIT $2 OFFSET $3`,
        [dependencyId, page.limit, page.offset],
      );
      const total = await pool.query(
        "SELECT count(*) AS n FROM dependency_versions WHERE dependency_id = $1",
        [dependencyId],
      );
      return {
        items: items.rows.map((r) => toDependencyVersion(r).version),
        total: count(total.rows),
      };
    },
    deleteVersionIfUnused: async (id) => transaction(pool, (c) => deleteVersion(c, id)),
    isVersionInUse: async (id) => (await pool.query(`${USAGE} LIMIT 1`, [id])).rows.length > 0,
    isDigestReferenced: async (digest) =>
      (await pool.query("SELECT 1 FROM dependency_versions WHERE digest = $1 LIMIT 1", [digest]))
        .rows.length > 0,
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
