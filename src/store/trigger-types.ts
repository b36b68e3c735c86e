/**
 * Triggers (contract §1.7) as stored, apart from the main Store so the trigger feature owns its
 * tables. Times are epoch milliseconds. `eventData` is the trigger's wire `event_data` after its
 * type validated and normalised it (it is the user's configuration, echoed back as given).
 */

export type TriggerStatus = "ACTIVE" | "DISABLED";

export interface TriggerRecord {
  id: string;
  projectId: string;
  functionId: string;
  /** `latest`, a version name, or `!alias`. */
  qualifier: string;
  /** The qualified 8-field URN events go to. */
  funcUrn: string;
  /** `trigger_type_code` (TIMER, APIG, …). */
  type: string;
  status: TriggerStatus;
  eventData: Record<string, unknown>;
  /** Server-side secrets and state that are not part of event_data (APP keys, …). */
  internal: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface TriggerStore {
  /** Inserts a trigger; false when `conflict` (run in the same transaction) finds a clash. */
  create(t: TriggerRecord, conflict?: (existing: TriggerRecord[]) => boolean): Promise<boolean>;
  put(t: TriggerRecord): Promise<void>;
  get(id: string): Promise<TriggerRecord | undefined>;
  /** Triggers of a function (one qualifier, or all with `qualifier` undefined), oldest first. */
  listByFunction(functionId: string, qualifier?: string): Promise<TriggerRecord[]>;
  /** Every trigger, optionally of some types (restore on start-up; conflict checks). */
  listAll(types?: readonly string[]): Promise<TriggerRecord[]>;
  delete(id: string): Promise<boolean>;

  /** Last schedule point a timer fired for (epoch ms), if any. */
  lastFired(id: string): Promise<number | undefined>;
  /**
   * Claims schedule point `at` for a timer: succeeds only if no point at or after `at` was
   * claimed before, so a point fires once even across restarts (and across nodes sharing a db).
   */
  claimFire(id: string, at: number): Promise<boolean>;
  /** Sets the last fired point unconditionally (a timer re-enabled starts from now). */
  setLastFired(id: string, at: number): Promise<void>;

  close(): Promise<void>;
}
