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
];
