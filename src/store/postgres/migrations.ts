import type { Migration } from "../sqlite/migrations.js";

/**
 * Forward-only PostgreSQL migrations, applied in order and recorded by id in
 * `schema_migrations` of the store's schema. Add one by appending an entry with a new id; never
 * edit or reorder applied ones.
 *
 * The tables mirror SQLite's. JSON documents stay `text` so they come back byte for byte as
 * written (jsonb would reorder keys). Columns that listings order by are `COLLATE "C"` (byte
 * order, as SQLite's BINARY). Creation order, which SQLite takes from a microsecond clock and
 * rowid, comes from one sequence. The async queue creates its own tables (async-store.ts).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    id: "0001-metadata",
    sql: `
  CREATE SEQUENCE store_seq;
  CREATE TABLE identity (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL);
  CREATE TABLE functions (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    package TEXT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    runtime TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    UNIQUE (project_id, package, name)
  );
  CREATE INDEX functions_listing ON functions (project_id, created_at, name);
  CREATE TABLE versions (
    function_id TEXT NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    created_seq BIGINT NOT NULL DEFAULT nextval('store_seq'),
    digest TEXT NOT NULL,
    code_size BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (function_id, version)
  );
  CREATE INDEX versions_digest ON versions (digest);
  CREATE TABLE invocations (
    request_id TEXT PRIMARY KEY,
    function_id TEXT NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX invocations_function ON invocations (function_id, created_at);
  CREATE TABLE aliases (
    function_id TEXT NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    created_seq BIGINT NOT NULL DEFAULT nextval('store_seq'),
    data TEXT NOT NULL,
    PRIMARY KEY (function_id, name)
  );
  `,
  },
  {
    id: "0002-triggers",
    sql: `
  CREATE TABLE triggers (
    trigger_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL DEFAULT nextval('store_seq'),
    project_id TEXT NOT NULL,
    function_id TEXT NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    func_urn TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    event_data TEXT NOT NULL,
    internal TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
  CREATE INDEX triggers_function ON triggers (function_id, qualifier);
  CREATE TABLE trigger_timer_state (
    trigger_id TEXT PRIMARY KEY REFERENCES triggers(trigger_id) ON DELETE CASCADE,
    last_fired BIGINT NOT NULL
  );
  `,
  },
  {
    // project_id '' = public.
    id: "0003-dependencies",
    sql: `
  CREATE TABLE dependencies (
    id TEXT PRIMARY KEY,
    project_id TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    next_version INTEGER NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
  );
  CREATE TABLE dependency_versions (
    id TEXT PRIMARY KEY,
    dependency_id TEXT NOT NULL REFERENCES dependencies(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    runtime TEXT NOT NULL,
    digest TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (dependency_id, version)
  );
  CREATE INDEX dependency_versions_digest ON dependency_versions (digest);
  `,
  },
  {
    // Reserved instances (contract §1.10): one row per function and qualifier.
    id: "0004-reserved-instances",
    sql: `
  CREATE TABLE reserved_instances (
    function_id TEXT NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    seq BIGINT NOT NULL DEFAULT nextval('store_seq'),
    project_id TEXT NOT NULL,
    data TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (function_id, qualifier)
  );
  CREATE INDEX reserved_instances_project ON reserved_instances (project_id);
  `,
  },
  {
    // Invocation records are kept for a set time (recordRetentionHours): the oldest are found by
    // their start time.
    id: "0005-invocations-created",
    sql: `
  CREATE INDEX invocations_created ON invocations (created_at);
  `,
  },
];
