import { z } from "zod";
import {
  ASYNC_STATUSES,
  DESTINATION_TYPES,
  type AsyncInvocation,
  type AsyncInvokeConfig,
  type AsyncListQuery,
  type AsyncPolicy,
  type NewAsyncInvocation,
} from "./async-types.js";

/** Row shapes shared by the SQLite and PostgreSQL async stores (validated when read back). */

const num = z.coerce.number();
const destination = z.object({
  destination: z.enum(DESTINATION_TYPES),
  param: z.string(),
  functionId: z.string().optional(),
});
const policy = z.object({
  maxRetries: z.number().int(),
  maxAgeSeconds: z.number().int(),
  onSuccess: destination.optional(),
  onFailure: destination.optional(),
});

const invocationRow = z.object({
  request_id: z.string(),
  project_id: z.string(),
  function_id: z.string(),
  func_urn: z.string(),
  qualifier: z.string(),
  event: z.string(),
  headers: z.string(),
  memory_mb: num.nullable(),
  policy: z.string(),
  created_at: num,
  status: z.enum(ASYNC_STATUSES),
  attempts: num,
  failures: num,
  not_before: num,
  lease_owner: z.string(),
  lease_until: num,
  started_at: num.nullable(),
  ended_at: num.nullable(),
  error_code: num,
  error_message: z.string(),
  version: z.string(),
  destination_status: z.string(),
  cancel_requested: z.union([z.boolean(), num]),
});

export function toAsyncInvocation(row: unknown): AsyncInvocation {
  const r = invocationRow.parse(row);
  return {
    requestId: r.request_id,
    projectId: r.project_id,
    functionId: r.function_id,
    funcUrn: r.func_urn,
    qualifier: r.qualifier,
    event: r.event,
    headers: z.record(z.string(), z.string()).parse(JSON.parse(r.headers)),
    ...(r.memory_mb !== null ? { memoryMb: r.memory_mb } : {}),
    policy: parsePolicy(r.policy),
    createdAt: r.created_at,
    status: r.status,
    attempts: r.attempts,
    failures: r.failures,
    notBefore: r.not_before,
    leaseOwner: r.lease_owner,
    leaseUntil: r.lease_until,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    version: r.version,
    destinationStatus: r.destination_status,
    cancelRequested: r.cancel_requested === true || r.cancel_requested === 1,
  };
}

function parsePolicy(text: string): AsyncPolicy {
  const p = policy.parse(JSON.parse(text));
  return {
    maxRetries: p.maxRetries,
    maxAgeSeconds: p.maxAgeSeconds,
    ...(p.onSuccess ? { onSuccess: stripUndefined(p.onSuccess) } : {}),
    ...(p.onFailure ? { onFailure: stripUndefined(p.onFailure) } : {}),
  };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Column values of a new request, in INSERT_COLUMNS order. */
export const INSERT_COLUMNS = [
  "request_id",
  "project_id",
  "function_id",
  "func_urn",
  "qualifier",
  "event",
  "headers",
  "memory_mb",
  "policy",
  "created_at",
  "status",
  "not_before",
] as const;

export function toInsertValues(r: NewAsyncInvocation): unknown[] {
  return [
    r.requestId,
    r.projectId,
    r.functionId,
    r.funcUrn,
    r.qualifier,
    r.event,
    JSON.stringify(r.headers),
    r.memoryMb ?? null,
    JSON.stringify(r.policy),
    r.createdAt,
    "WAIT",
    r.createdAt,
  ];
}

const configData = z.object({
  projectId: z.string(),
  functionId: z.string(),
  qualifier: z.string(),
  maxRetries: z.number().int(),
  maxAgeSeconds: z.number().int(),
  onSuccess: destination.optional(),
  onFailure: destination.optional(),
  enableStatusLog: z.boolean(),
  extra: z.record(z.string(), z.string()),
  createdAt: z.number(),
  lastModified: z.number(),
});

export function toAsyncConfig(row: unknown): AsyncInvokeConfig {
  const { data } = z.object({ data: z.string() }).parse(row);
  const c = configData.parse(JSON.parse(data));
  return stripUndefined<AsyncInvokeConfig>({
    ...c,
    ...(c.onSuccess ? { onSuccess: stripUndefined(c.onSuccess) } : {}),
    ...(c.onFailure ? { onFailure: stripUndefined(c.onFailure) } : {}),
  });
}

export const hasFunctionDestination = (c: AsyncInvokeConfig): boolean =>
  c.onSuccess?.destination === "FunctionGraph" || c.onFailure?.destination === "FunctionGraph";

/** WHERE clause of a records query, with `?` placeholders (SQLite `?` or PostgreSQL `$n`). */
export function listWhere(
  lq: AsyncListQuery,
  placeholder: (i: number) => string = () => "?",
): { where: string; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  const p = (v: unknown): string => {
    args.push(v);
    return placeholder(args.length);
  };
  where.push(`function_id = ${p(lq.functionId)}`);
  if (lq.qualifier !== undefined) where.push(`qualifier = ${p(lq.qualifier)}`);
  if (lq.requestIds?.length) where.push(`request_id IN (${lq.requestIds.map(p).join(", ")})`);
  if (lq.statuses?.length) where.push(`status IN (${lq.statuses.map(p).join(", ")})`);
  if (lq.from !== undefined) where.push(`created_at >= ${p(lq.from)}`);
  if (lq.to !== undefined) where.push(`created_at <= ${p(lq.to)}`);
  return { where: where.join(" AND "), args };
}
