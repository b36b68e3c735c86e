/**
 * Forward-only schema migrations, applied in order and recorded by id in `schema_migrations`.
 * Add a migration by appending an entry with a new id; never edit or reorder applied ones.
 */
export interface Migration {
  id: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    id: "0001-functions",
    sql: `
  CREATE TABLE identity (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL);
  CREATE TABLE functions (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    package TEXT NOT NULL,
    name TEXT NOT NULL,
    runtime TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (project_id, package, name)
  );
  CREATE TABLE versions (
    function_id TEXT NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    created_seq INTEGER NOT NULL DEFAULT (unixepoch('subsec') * 1000000),
    digest TEXT NOT NULL,
    code_size INTEGER NOT NULL,
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
  `,
  },
  {
    id: "0002-aliases",
    sql: `
  CREATE TABLE aliases (
    function_id TEXT NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    created_seq INTEGER NOT NULL DEFAULT (unixepoch('subsec') * 1000000),
    data TEXT NOT NULL,
    PRIMARY KEY (function_id, name)
  );
  `,
  },
  {
    // Durable async invocation queue and records, async invoke configs (issue 6).
    id: "0003-async-invocations",
    sql: `
  CREATE TABLE async_invocations (
    request_id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    function_id TEXT NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
    func_urn TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    event TEXT NOT NULL,
    headers TEXT NOT NULL,
    memory_mb INTEGER,
    policy TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    not_before INTEGER NOT NULL,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER,
    ended_at INTEGER,
    error_code INTEGER NOT NULL DEFAULT 0,
    error_message TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    destination_status TEXT NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX async_wait ON async_invocations (not_before) WHERE status = 'WAIT';
  CREATE INDEX async_running ON async_invocations (lease_until) WHERE status = 'RUNNING';
  CREATE INDEX async_function ON async_invocations (function_id, created_at);
  CREATE TABLE async_invoke_configs (
    function_id TEXT NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    project_id TEXT NOT NULL,
    has_fg_destination INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (function_id, qualifier)
  );
  CREATE INDEX async_configs_project ON async_invoke_configs (project_id) WHERE has_fg_destination = 1;
  `,
  },
  {
    // Triggers (issue 7): one row per trigger, timer firing state apart (updated often).
    id: "0004-triggers",
    sql: `
  CREATE TABLE triggers (
    trigger_id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    function_id TEXT NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    func_urn TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    event_data TEXT NOT NULL,
    internal TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX triggers_function ON triggers (function_id, qualifier);
  CREATE TABLE trigger_timer_state (
    trigger_id TEXT PRIMARY KEY REFERENCES triggers(trigger_id) ON DELETE CASCADE,
    last_fired INTEGER NOT NULL
  );
  `,
  },
  {
    // Dependency packages and their versions (issue 8, contract §1.8). project_id '' = public.
    id: "0005-dependencies",
    sql: `
  CREATE TABLE dependencies (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    next_version INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
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
    // Reserved instances (issue 4, contract §1.10): one row per function and qualifier.
    id: "0006-reserved-instances",
    sql: `
  CREATE TABLE reserved_instances (
    function_id TEXT NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    project_id TEXT NOT NULL,
    data TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (function_id, qualifier)
  );
  CREATE INDEX reserved_instances_project ON reserved_instances (project_id);
  `,
  },
  {
    // Invocation records are kept for a set time (recordRetentionHours): the oldest are found by
    // their start time.
    id: "0007-invocations-created",
    sql: `
  CREATE INDEX invocations_created ON invocations (created_at);
  `,
  },
  {
    // Finished async requests are kept for a set time too, found by their end time.
    id: "0008-async-ended",
    sql: `
  CREATE INDEX async_ended ON async_invocations (ended_at) WHERE ended_at IS NOT NULL;
  `,
  },
  {
    // Old records are found function by function through invocations_function (function_id,
    // created_at): one index less to update on every record written (~1 µs of the store worker's
    // ~8 per record, which competes with the invoke path for the same CPUs).
    id: "0009-invocations-created-dropped",
    sql: `
  DROP INDEX IF EXISTS invocations_created;
  `,
  },
  {
    // Records with version 7 request ids, many to a row (invocation-rows.ts): found by the ids'
    // second, pruned function by function through their latest start.
    id: "0010-invocation-batches",
    sql: `
  CREATE TABLE invocation_batches (
    id INTEGER PRIMARY KEY,
    function_id TEXT NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
    second INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX invocation_batches_second ON invocation_batches (second);
  CREATE INDEX invocation_batches_function ON invocation_batches (function_id, created_at);
  `,
  },
];
