import type { FsError } from "../core/errors.js";
import type { FunctionRecord, FunctionVersion } from "../core/types.js";
import type { TriggerRecord, TriggerStatus } from "../store/trigger-types.js";

export type { TriggerRecord, TriggerStatus };

/** `trigger_type_code` values this installation accepts (contract §1.7). */
export const TRIGGER_TYPES = [
  "TIMER",
  "APIG",
  "DEDICATEDGATEWAY",
  "APIC",
  "RABBITMQ",
  "DIS",
  "KAFKA",
  "OPENSOURCEKAFKA",
  "OBS",
  "SMN",
  "LTS",
  "CTS",
  "DDS",
  "GAUSSMONGO",
] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

/** What a type sees when it validates a create request. */
export interface CreateContext {
  triggerId: string;
  projectId: string;
  fn: FunctionRecord;
  /** `latest`, a version name or `!alias`. */
  qualifier: string;
  now: number;
}

/** The stored form of a new trigger's configuration. */
export interface ParsedTrigger {
  eventData: Record<string, unknown>;
  /** Server-side state kept out of event_data (issued secrets, …). */
  internal?: Record<string, unknown>;
}

/**
 * One trigger type: how its `event_data` is validated and shown, and, when this installation
 * delivers its events, the TriggerSource that does it. Each lives in `src/triggers/<type>/`.
 */
export interface TriggerKind {
  readonly type: TriggerType;
  readonly defaultStatus: TriggerStatus;
  /** Validate `event_data` of a create request (throws FsError with the type's code). */
  parse(data: unknown, ctx: CreateContext): ParsedTrigger | Promise<ParsedTrigger>;
  /** Apply an update's `event_data` (only pull-tuning fields are updatable, contract §1.7). */
  update?(
    current: Record<string, unknown>,
    patch: Record<string, unknown>,
  ): Record<string, unknown>;
  /** A clash between a new trigger and an existing one (any function), checked atomically. */
  conflict?(candidate: TriggerRecord, other: TriggerRecord): FsError | undefined;
  /** `event_data` fields never shown in responses (passwords). */
  readonly hidden?: readonly string[];
  /** Server fields added to `event_data` in responses (invoke_url, …). */
  present?(t: TriggerRecord): Record<string, unknown>;
  /** Absent: accepted, validated and stored, but not delivered by this installation. */
  readonly source?: TriggerSource;
}

/** Turns a trigger's outside events into invocations (ARCHITECTURE §7). */
export interface TriggerSource {
  /** Start (or restart with the new configuration) delivering for an ACTIVE trigger. */
  start(t: TriggerRecord): Promise<void>;
  stop(triggerId: string): Promise<void>;
  /** A DISABLED trigger became ACTIVE (timers start from now rather than catch up). */
  enabled?(t: TriggerRecord): Promise<void>;
  /** The trigger was deleted: drop what it owns outside (queues, durable consumers). */
  removed?(t: TriggerRecord): Promise<void>;
  close(): Promise<void>;
}

/** Final state of a queued invocation, as far as a trigger cares. */
export type Outcome = "SUCCESS" | "FAIL" | "DISCARD" | "GONE";

/** How triggers hand events to functions: the durable async queue (wired in main.ts). */
export interface Delivery {
  /** Queue `event` for the trigger's function; resolves with the request id once durable. */
  submit(t: TriggerRecord, event: unknown): Promise<string>;
  /** Resolves once the request reached a final status (retries per the async config done). */
  outcome(requestId: string, signal?: AbortSignal): Promise<Outcome>;
}

/** A URN resolved to a function and one concrete version (the api layer's FunctionService). */
export interface ResolvedFunction {
  fn: FunctionRecord;
  /** `qualifier` is set when the URN named a version or alias. */
  ref: { region: string; qualifier?: unknown };
  version: FunctionVersion;
  alias: string;
}

export type ResolveFunction = (
  projectId: string,
  urn: string,
  invoke?: { headers: Record<string, string> },
) => Promise<ResolvedFunction>;
