/**
 * The durable async-invocation queue and its records (ARCHITECTURE §6, contract §1.5.2–§1.5.5,
 * §1.9), apart from the main Store so SQLite and PostgreSQL can each implement just this part.
 * Times are epoch milliseconds.
 */

export const ASYNC_STATUSES = ["WAIT", "RUNNING", "SUCCESS", "FAIL", "DISCARD"] as const;
export type AsyncStatus = (typeof ASYNC_STATUSES)[number];
export const FINAL_STATUSES: readonly AsyncStatus[] = ["SUCCESS", "FAIL", "DISCARD"];

export const DESTINATION_TYPES = ["OBS", "SMN", "DIS", "FunctionGraph"] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];

/** One destination of `destination_config` (param is the contract's JSON string). */
export interface Destination {
  destination: DestinationType;
  param: string;
  /** FunctionGraph destinations: the destination function's id (for cycle checks). */
  functionId?: string;
}

/** What an accepted request carries of its qualifier's async config (snapshot at accept). */
export interface AsyncPolicy {
  maxRetries: number;
  maxAgeSeconds: number;
  onSuccess?: Destination;
  onFailure?: Destination;
}

/** A new request to queue. */
export interface NewAsyncInvocation {
  requestId: string;
  projectId: string;
  functionId: string;
  /** The qualified URN that was called (8 fields), re-resolved at each attempt. */
  funcUrn: string;
  /** `latest`, a version name, or `!alias`. */
  qualifier: string;
  event: string;
  headers: Record<string, string>;
  memoryMb?: number;
  policy: AsyncPolicy;
  createdAt: number;
}

/** A queued or finished request as stored. */
export interface AsyncInvocation extends NewAsyncInvocation {
  status: AsyncStatus;
  /** Times the function was invoked (approximate_invoke_count). */
  attempts: number;
  /** Failed attempts counted against max_async_retry_attempts (crashes do not count). */
  failures: number;
  notBefore: number;
  leaseOwner: string;
  leaseUntil: number;
  startedAt: number | null;
  endedAt: number | null;
  errorCode: number;
  errorMessage: string;
  /** Version that ran last. */
  version: string;
  destinationStatus: string;
  cancelRequested: boolean;
}

/** How an attempt ended, written only while the caller still holds the lease. */
export interface AsyncFinish {
  requestId: string;
  owner: string;
  status: AsyncStatus;
  errorCode: number;
  errorMessage: string;
  version: string;
  /** When status is WAIT: the next attempt's earliest time. */
  notBefore?: number;
  /** Counted against the retry budget. */
  failed: boolean;
  /** The attempt never reached the function (429, shutdown): take it off `attempts`. */
  uncount?: boolean;
  destinationStatus?: string;
  /** Queued in the same transaction (a FunctionGraph destination's notification). */
  followUp?: NewAsyncInvocation;
}

export interface AsyncListQuery {
  functionId: string;
  /** Only this qualifier (undefined: all qualifiers of the function). */
  qualifier?: string;
  requestIds?: string[];
  statuses?: AsyncStatus[];
  /** Window on acceptance time, inclusive; undefined = open. */
  from?: number;
  to?: number;
  offset: number;
  limit: number;
}

/** The async invoke configuration of one version or alias (contract §1.9). */
export interface AsyncInvokeConfig {
  projectId: string;
  functionId: string;
  qualifier: string;
  maxRetries: number;
  maxAgeSeconds: number;
  onSuccess?: Destination;
  onFailure?: Destination;
  enableStatusLog: boolean;
  /** log_group_id, log_stream_id, … echoed back. */
  extra: Record<string, string>;
  createdAt: number;
  lastModified: number;
}

export interface AsyncStore {
  readonly kind: "sqlite" | "postgres";
  /** Commit the requests durably (one transaction); resolves only after the commit. */
  enqueue(rows: NewAsyncInvocation[]): Promise<void>;
  /** Lease up to `limit` due requests (WAIT and due, or RUNNING with an expired lease). */
  claim(owner: string, now: number, leaseMs: number, limit: number): Promise<AsyncInvocation[]>;
  /** Extend the leases `owner` holds; returns the ids whose cancellation was requested. */
  renew(owner: string, ids: string[], leaseUntil: number): Promise<string[]>;
  /** Record an attempt's end; false when the lease was lost (someone else owns it now). */
  finish(f: AsyncFinish, now: number): Promise<boolean>;
  /** Put RUNNING requests back to WAIT: all of them (`owner` undefined) or one owner's. */
  requeueRunning(now: number, owner?: string): Promise<number>;
  /** Earliest `notBefore` among WAIT requests, or undefined. */
  nextDue(): Promise<number | undefined>;
  get(requestId: string): Promise<AsyncInvocation | undefined>;
  list(q: AsyncListQuery): Promise<{ items: AsyncInvocation[]; total: number }>;
  /**
   * Delete the requests that ended (SUCCESS, FAIL, DISCARD) before `before` (epoch ms), with
   * their events; requests still waiting or running stay. Returns how many went.
   */
  pruneFinished(before: number): Promise<number>;
  /** WAIT → FAIL (canceled); RUNNING → cancel flag set. Returns the status it found. */
  cancel(
    requestId: string,
    now: number,
    code: number,
    message: string,
  ): Promise<AsyncStatus | undefined>;

  putConfig(c: AsyncInvokeConfig): Promise<void>;
  getConfig(functionId: string, qualifier: string): Promise<AsyncInvokeConfig | undefined>;
  deleteConfig(functionId: string, qualifier: string): Promise<boolean>;
  listConfigs(
    functionId: string,
    offset: number,
    limit: number,
  ): Promise<{ items: AsyncInvokeConfig[]; total: number }>;
  /** Every config of a project that has a FunctionGraph destination (cycle checks). */
  listDestinationConfigs(projectId: string): Promise<AsyncInvokeConfig[]>;

  close(): Promise<void>;
}
