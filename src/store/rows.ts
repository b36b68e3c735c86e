import { z } from "zod";
import type { DependencyRef, FunctionRecord } from "../core/types.js";
import type { ReservedConfig } from "./reserved-types.js";
import type { TriggerRecord } from "./trigger-types.js";

/**
 * Rows read back from either database, parsed into domain records (CONVENTIONS: validate rows a
 * store reads). Shared by the SQLite and PostgreSQL stores; numbers are coerced because
 * PostgreSQL returns bigint columns as strings (a no-op for SQLite's numbers).
 */

const functionRow = z.object({
  id: z.string(),
  project_id: z.string(),
  package: z.string(),
  name: z.string(),
  runtime: z.string(),
  created_at: z.string(),
});

export const toFunction = (row: unknown): FunctionRecord => {
  const r = functionRow.parse(row);
  return {
    id: r.id,
    projectId: r.project_id,
    package: r.package,
    name: r.name,
    runtime: r.runtime,
    createdAt: r.created_at,
  };
};

const dataRow = z.object({ data: z.string() });
/** The JSON document of a `data` column. */
export const parseData = <T>(row: unknown): T => JSON.parse(dataRow.parse(row).data) as T;

const refSchema = z.object({
  id: z.string(),
  dependencyId: z.string(),
  version: z.number().int(),
  name: z.string(),
  owner: z.string(),
  runtime: z.string(),
  description: z.string(),
  digest: z.string(),
  etag: z.string(),
  size: z.number(),
  fileName: z.string(),
  link: z.string(),
  createdAt: z.number(),
});
const dependencyVersionRow = z.object({ data: z.string(), project_id: z.string() });

export const toDependencyVersion = (
  row: unknown,
): { projectId: string; version: DependencyRef } => {
  const r = dependencyVersionRow.parse(row);
  return { projectId: r.project_id, version: refSchema.parse(JSON.parse(r.data)) };
};

const reservedRow = z.object({
  function_id: z.string(),
  qualifier: z.string(),
  project_id: z.string(),
  data: z.string(),
  updated_at: z.coerce.number(),
});

const reservedData = z.object({
  qualifierType: z.enum(["version", "alias"]),
  count: z.number().int(),
  idleMode: z.boolean(),
  cronConfigs: z.array(
    z.object({
      name: z.string(),
      cron: z.string(),
      count: z.number().int(),
      startTime: z.number(),
      expiredTime: z.number(),
    }),
  ),
  metricConfigs: z.array(
    z.object({ name: z.string(), type: z.string(), threshold: z.number(), min: z.number() }),
  ),
});

export const toReservedConfig = (r: unknown): ReservedConfig => {
  const p = reservedRow.parse(r);
  return {
    projectId: p.project_id,
    functionId: p.function_id,
    qualifier: p.qualifier,
    ...reservedData.parse(JSON.parse(p.data)),
    updatedAt: p.updated_at,
  };
};

const triggerRow = z.object({
  trigger_id: z.string(),
  project_id: z.string(),
  function_id: z.string(),
  qualifier: z.string(),
  func_urn: z.string(),
  type: z.string(),
  status: z.enum(["ACTIVE", "DISABLED"]),
  event_data: z.string(),
  internal: z.string(),
  created_at: z.coerce.number(),
  updated_at: z.coerce.number(),
});

const jsonObject = z.record(z.string(), z.unknown());

export const toTriggerRecord = (r: unknown): TriggerRecord => {
  const p = triggerRow.parse(r);
  return {
    id: p.trigger_id,
    projectId: p.project_id,
    functionId: p.function_id,
    qualifier: p.qualifier,
    funcUrn: p.func_urn,
    type: p.type,
    status: p.status,
    eventData: jsonObject.parse(JSON.parse(p.event_data)),
    internal: jsonObject.parse(JSON.parse(p.internal)),
    createdAt: p.created_at,
    updatedAt: p.updated_at,
  };
};
