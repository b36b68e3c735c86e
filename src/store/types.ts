import type {
  FunctionAlias,
  FunctionRecord,
  FunctionVersion,
  Identity,
  InvocationRecord,
} from "../core/types.js";

export interface ListFunctionsQuery {
  projectId: string;
  package?: string;
  name?: string;
  offset: number;
  limit: number;
}

/** The only way to metadata (ARCHITECTURE §6). Async so PostgreSQL can implement it too. */
export interface Store {
  readonly kind: "sqlite" | "postgres";
  /**
   * A number that changes whenever a function, version or alias changes, for callers that keep
   * what they read. Absent when something outside this process can change them (PostgreSQL).
   */
  revision?(): number;
  loadIdentity(): Promise<Identity | undefined>;
  saveIdentity(identity: Identity): Promise<void>;

  /** Creates the function and its `latest` version atomically; false when the name is taken. */
  createFunction(fn: FunctionRecord, latest: FunctionVersion): Promise<boolean>;
  getFunction(projectId: string, pkg: string, name: string): Promise<FunctionRecord | undefined>;
  getFunctionById(id: string): Promise<FunctionRecord | undefined>;
  listFunctions(q: ListFunctionsQuery): Promise<{ items: FunctionRecord[]; total: number }>;
  countFunctions(projectId: string): Promise<number>;
  /** Deletes the function with all its versions and records. */
  deleteFunction(id: string): Promise<void>;

  getVersion(functionId: string, version: string): Promise<FunctionVersion | undefined>;
  listVersions(functionId: string): Promise<FunctionVersion[]>;
  putVersion(v: FunctionVersion): Promise<void>;
  /** Deletes one version together with the aliases whose main version it is. */
  deleteVersion(functionId: string, version: string): Promise<void>;
  /** Code digests still referenced by any version (for blob garbage collection). */
  isDigestReferenced(digest: string): Promise<boolean>;
  /** Sum of code sizes of all versions of a project. */
  totalCodeSize(projectId: string): Promise<number>;

  /** Creates an alias; false when the function already has one of that name. */
  createAlias(a: FunctionAlias): Promise<boolean>;
  /** Replaces an existing alias (same function and name). */
  putAlias(a: FunctionAlias): Promise<void>;
  getAlias(functionId: string, name: string): Promise<FunctionAlias | undefined>;
  /** Aliases of a function in creation order. */
  listAliases(functionId: string): Promise<FunctionAlias[]>;
  deleteAlias(functionId: string, name: string): Promise<void>;

  addInvocation(r: InvocationRecord): Promise<void>;
  /** Several records in one transaction (the invoker batches them off the hot path). */
  addInvocations(rs: readonly InvocationRecord[]): Promise<void>;
  getInvocation(requestId: string): Promise<InvocationRecord | undefined>;
  /** Delete the records of calls that started before `before` (ISO time); how many went. */
  pruneInvocations(before: string): Promise<number>;

  close(): Promise<void>;
}
