/** Domain types. Internal names are camelCase; wire names live in src/api only. */

export interface Identity {
  projectId: string;
  projectName: string;
  domainId: string;
  domainName: string;
  userId: string;
  userName: string;
  password: string;
  accessKey: string;
  secretKey: string;
  /** Key that signs tokens; never leaves the data dir. */
  tokenKey: string;
  createdAt: string;
}

export interface StrategyConfig {
  /** Max instances: -1 unlimited, 0 disabled, 1..1000. */
  concurrency: number;
  /** Requests per instance, 1..1000. */
  concurrentNum: number;
}

export interface FunctionRecord {
  id: string;
  projectId: string;
  package: string;
  name: string;
  runtime: string;
  createdAt: string;
}

/** One version of a function: `latest` (mutable) or a published snapshot. */
export interface FunctionVersion {
  functionId: string;
  version: string;
  handler: string;
  memorySize: number;
  timeout: number;
  codeType: string;
  codeFilename: string;
  codeUrl: string;
  /** SHA-512 hex of the code package as stored (a ZIP). */
  codeDigest: string;
  codeSize: number;
  userData: Record<string, string>;
  encryptedUserData: Record<string, string>;
  description: string;
  versionDescription: string;
  initializerHandler: string;
  initializerTimeout: number;
  preStopHandler: string;
  preStopTimeout: number;
  strategy: StrategyConfig;
  ephemeralStorage: number;
  dependVersionList: string[];
  /**
   * The dependency versions of `dependVersionList`, in order, as they were when attached
   * (dependency versions are immutable). Absent on versions saved before dependencies existed.
   */
  dependencies?: DependencyRef[];
  /** Fields accepted and echoed back but not acted on (xrole, func_vpc, log_config, …). */
  extra: Record<string, unknown>;
  /** Bumped on every code or config change of latest; pools key on it. */
  revision: number;
  lastModified: string;
}

/** One version of a dependency package (contract §1.8); immutable once created. */
export interface DependencyRef {
  /** Version id: what `depend_version_list` holds. */
  id: string;
  /** Dependency id (`dep_id`): the versions of one name share it. */
  dependencyId: string;
  /** 1, 2, … per dependency, never reused. */
  version: number;
  name: string;
  /** Domain id of the owning account, or `public`. */
  owner: string;
  runtime: string;
  description: string;
  /** SHA-512 hex of the stored ZIP (blob digest); never on the wire. */
  digest: string;
  /** MD5 hex of the ZIP. */
  etag: string;
  size: number;
  fileName: string;
  /** The URL it was fetched from (`depend_type: obs`), else "". */
  link: string;
  /** Epoch milliseconds. */
  createdAt: number;
}

/**
 * What the platform's Start and Finish lines of an invocation's log are made of, besides the
 * request id, the version and the duration figures (invoker/log-format.ts). Kept instead of the
 * lines themselves, which are made only when a log is read (docs/decisions.md).
 */
export interface LogFrame {
  /** Epoch ms of the Start line (only its second is printed). */
  startMs: number;
  /** Epoch ms of the Finish line. */
  endMs: number;
  /** The `billing memory` of the Finish line, in MB. */
  memorySize: number;
}

export interface InvocationRecord {
  requestId: string;
  functionId: string;
  version: string;
  alias: string;
  kind: "sync" | "async";
  instanceId: string;
  status: "success" | "error";
  errorCode: number;
  startedAt: string;
  durationMs: number;
  billingMs: number;
  memoryUsedMb: number;
  coldStart: boolean;
  timings: Record<string, number>;
  /**
   * With `logFrame`: the function's own output (and a cold start's start-up output), which the
   * whole log has between its Start and Finish lines (`invocationLog` makes the whole text).
   * Without: the whole log.
   */
  log: string;
  logFrame?: LogFrame;
}

/** One header (or cookie) rule of an alias's additional-version strategy (contract §1.6). */
export interface AliasRule {
  /** `header` or `cookie`, stored lower-case (matched case-insensitively on input). */
  ruleType: "header" | "cookie";
  param: string;
  op: "=" | "in";
  /** For `in`: a comma-separated list. */
  value: string;
}

export interface AliasStrategy {
  combineType: "and" | "or";
  rules: AliasRule[];
}

/** A named pointer to a main version, optionally sending some traffic to one more version. */
export interface FunctionAlias {
  functionId: string;
  name: string;
  version: string;
  description: string;
  /** additional version → percentage 0..100 (at most one entry). */
  additionalVersionWeights: Record<string, number>;
  /** additional version → header rules (at most one entry). */
  additionalVersionStrategy: Record<string, AliasStrategy>;
  createdAt: string;
  lastModified: string;
}
