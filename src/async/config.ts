import { z } from "zod";
import { FsError } from "../core/errors.js";
import type { AsyncInvokeConfig, AsyncStore, Destination } from "../store/async.js";
import { DESTINATION_TYPES } from "../store/async.js";
import { ASYNC_DEFAULTS, ASYNC_LIMITS, type ResolvedTarget, type Resolver } from "./types.js";

const destinationBody = z.object({
  destination: z.enum(DESTINATION_TYPES),
  // The contract's `param` is a JSON string; an object is accepted too and stored as text.
  param: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
});

/** Body of UpdateFunctionAsyncInvokeConfig (contract §1.9). */
export const asyncConfigBody = z.object({
  max_async_event_age_in_seconds: z.number().int().optional(),
  max_async_retry_attempts: z.number().int().optional(),
  destination_config: z
    .object({
      on_success: destinationBody.nullish(),
      on_failure: destinationBody.nullish(),
    })
    .nullish(),
  enable_async_status_log: z.boolean().optional(),
  log_group_id: z.string().optional(),
  log_stream_id: z.string().optional(),
  log_group_name: z.string().optional(),
  log_stream_name: z.string().optional(),
});
export type AsyncConfigBody = z.infer<typeof asyncConfigBody>;

const params = {
  OBS: z.object({
    bucket: z.string().min(1),
    prefix: z.string().optional(),
    expires: z.number().int().min(0).max(365).optional(),
  }),
  SMN: z.object({ topic_urn: z.string().min(1) }),
  DIS: z.object({ stream_name: z.string().min(1) }),
  FunctionGraph: z.object({ func_urn: z.string().min(1) }),
} as const;

const LOG_FIELDS = ["log_group_id", "log_stream_id", "log_group_name", "log_stream_name"] as const;

/**
 * Validate a PUT body into a config for `target` (ranges, destination params, the destination
 * function's existence and project, no cycles between functions).
 */
export async function toAsyncConfig(
  body: AsyncConfigBody,
  target: ResolvedTarget,
  qualifier: string,
  deps: { store: AsyncStore; resolve: Resolver; now: number; existing?: AsyncInvokeConfig },
): Promise<AsyncInvokeConfig> {
  const maxRetries = body.max_async_retry_attempts ?? ASYNC_DEFAULTS.maxRetries;
  if (maxRetries < 0 || maxRetries > ASYNC_LIMITS.maxRetries) {
    throw new FsError(
      "INVALID_PARAMETER",
      `max_async_retry_attempts must be an integer from 0 to ${ASYNC_LIMITS.maxRetries}`,
    );
  }
  const maxAge = body.max_async_event_age_in_seconds ?? ASYNC_DEFAULTS.maxAgeSeconds;
  if (maxAge < 1 || maxAge > ASYNC_LIMITS.maxAgeSeconds) {
    throw new FsError(
      "INVALID_PARAMETER",
      `max_async_event_age_in_seconds must be an integer from 1 to ${ASYNC_LIMITS.maxAgeSeconds}`,
    );
  }
  const projectId = target.fn.projectId;
  const dest = async (
    d: z.infer<typeof destinationBody> | null | undefined,
    which: string,
  ): Promise<Destination | undefined> => {
    if (!d) return undefined;
    let raw: unknown;
    if (typeof d.param === "string") {
      try {
        raw = JSON.parse(d.param);
      } catch {
        throw new FsError("INVALID_PARAMETER", `${which}.param must be a JSON string`);
      }
    } else raw = d.param ?? {};
    const parsed = params[d.destination].safeParse(raw);
    if (!parsed.success) {
      throw new FsError(
        "INVALID_PARAMETER",
        `${which}.param is not valid for ${d.destination}: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`,
      );
    }
    const out: Destination = { destination: d.destination, param: JSON.stringify(parsed.data) };
    if (d.destination === "FunctionGraph") {
      const urn = (parsed.data as { func_urn: string }).func_urn;
      const r = await deps.resolve(projectId, urn);
      out.functionId = r.fn.id;
    }
    return out;
  };
  const onSuccess = await dest(body.destination_config?.on_success, "on_success");
  const onFailure = await dest(body.destination_config?.on_failure, "on_failure");
  const config: AsyncInvokeConfig = {
    projectId,
    functionId: target.fn.id,
    qualifier,
    maxRetries,
    maxAgeSeconds: maxAge,
    ...(onSuccess ? { onSuccess } : {}),
    ...(onFailure ? { onFailure } : {}),
    enableStatusLog: body.enable_async_status_log ?? false,
    extra: Object.fromEntries(
      LOG_FIELDS.filter((k) => body[k] !== undefined).map((k) => [k, body[k] ?? ""]),
    ),
    createdAt: deps.existing?.createdAt ?? deps.now,
    lastModified: deps.now,
  };
  await checkNoCycle(config, deps.store);
  return config;
}

/**
 * Functions must not reach themselves through FunctionGraph destinations (contract §1.9: two
 * functions must not be each other's destinations; longer loops are refused as well).
 * The graph is over functions, whatever the qualifier.
 */
async function checkNoCycle(config: AsyncInvokeConfig, store: AsyncStore): Promise<void> {
  const targets = [config.onSuccess, config.onFailure]
    .map((d) => d?.functionId)
    .filter((x): x is string => x !== undefined);
  if (targets.length === 0) return;
  const edges = new Map<string, Set<string>>();
  for (const c of await store.listDestinationConfigs(config.projectId)) {
    if (c.functionId === config.functionId && c.qualifier === config.qualifier) continue;
    for (const d of [c.onSuccess, c.onFailure]) {
      if (!d?.functionId) continue;
      let s = edges.get(c.functionId);
      if (!s) edges.set(c.functionId, (s = new Set()));
      s.add(d.functionId);
    }
  }
  const seen = new Set<string>();
  const stack = [...targets];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (f === config.functionId) {
      throw new FsError(
        "ASYNC_DESTINATION_CYCLE",
        "the destination function leads back to this function (destination cycle)",
      );
    }
    if (seen.has(f)) continue;
    seen.add(f);
    stack.push(...(edges.get(f) ?? []));
  }
}

/** The config model of contract §1.9. */
export function toConfigModel(c: AsyncInvokeConfig, funcUrn: string): Record<string, unknown> {
  const d = (x: Destination | undefined) =>
    x ? { destination: x.destination, param: x.param } : undefined;
  return {
    func_urn: funcUrn,
    max_async_event_age_in_seconds: c.maxAgeSeconds,
    max_async_retry_attempts: c.maxRetries,
    destination_config: {
      ...(c.onSuccess ? { on_success: d(c.onSuccess) } : {}),
      ...(c.onFailure ? { on_failure: d(c.onFailure) } : {}),
    },
    created_time: toWireSeconds(c.createdAt),
    last_modified: toWireSeconds(c.lastModified),
    enable_async_status_log: c.enableStatusLog,
    ...c.extra,
  };
}

/** `YYYY-MM-DDTHH:mm:ss` in UTC, the records' time format (contract §1.5.5). */
export function toWireSeconds(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}
