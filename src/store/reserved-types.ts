/**
 * Reserved-instance settings (contract §1.10) as stored, apart from the main Store so the
 * scaling feature owns its table. Times are epoch seconds, as on the wire.
 */

export interface ReservedCron {
  name: string;
  /** Cron expression (croner syntax: 5 or 6 fields, `?` allowed). */
  cron: string;
  count: number;
  startTime: number;
  expiredTime: number;
}

export interface ReservedMetric {
  name: string;
  type: string;
  threshold: number;
  min: number;
}

export interface ReservedConfig {
  projectId: string;
  functionId: string;
  /** A version name or an alias name. */
  qualifier: string;
  qualifierType: "version" | "alias";
  count: number;
  idleMode: boolean;
  cronConfigs: ReservedCron[];
  metricConfigs: ReservedMetric[];
  updatedAt: number;
}

export interface ReservedStore {
  put(c: ReservedConfig): Promise<void>;
  delete(functionId: string, qualifier: string): Promise<void>;
  /** Every row (restore on start-up), optionally of one project, oldest first. */
  list(projectId?: string): Promise<ReservedConfig[]>;
  close(): Promise<void>;
}
