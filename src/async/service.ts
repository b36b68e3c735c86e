import type { Clock } from "../core/clock.js";
import { FsError } from "../core/errors.js";
import { toFunctionUrn, toQualifiedUrn } from "../core/urn.js";
import type { AsyncInvocation, AsyncStatus, AsyncStore } from "../store/async.js";
import { createAcceptQueue, type AcceptQueue } from "./accept-queue.js";
import { toAsyncConfig, toConfigModel, toWireSeconds, type AsyncConfigBody } from "./config.js";
import type { Dispatcher } from "./dispatcher.js";
import { prepareInvocation } from "./prepare.js";
import { ASYNC_LIMITS, qualifierOf, type Resolver } from "./types.js";

export interface AsyncServiceDeps {
  store: AsyncStore;
  resolve: Resolver;
  clock: Clock;
  /** Set once the dispatcher exists (it is started after the invoker). */
  dispatcher?: () => Dispatcher | undefined;
}

export interface RecordsQuery {
  requestIds?: string[];
  statuses?: AsyncStatus[];
  from?: number;
  to?: number;
  marker: number;
  limit: number;
}

/** Async invocation for the API: accept, records, cancel, async invoke configs. */
export function createAsyncService(deps: AsyncServiceDeps) {
  const { store, clock } = deps;
  const queue: AcceptQueue = createAcceptQueue(store, () => deps.dispatcher?.()?.notify());

  /** Queue an event for `urn`; resolves with the request id once it is committed durably. */
  const accept = async (
    projectId: string,
    urn: string,
    input: {
      event: string;
      headers: Record<string, string>;
      memoryMb?: (enabled: boolean) => number | undefined;
    },
  ): Promise<string> => {
    if (Buffer.byteLength(input.event) > ASYNC_LIMITS.eventBytes) {
      throw new FsError(
        "INVOKE_BODY_TOO_LARGE",
        `the async event exceeds ${ASYNC_LIMITS.eventBytes} bytes`,
      );
    }
    const target = await deps.resolve(projectId, urn);
    if (target.version.strategy.concurrency === 0) {
      throw new FsError("FUNCTION_DISABLED", "the function is disabled (max instances 0)");
    }
    const memoryMb = input.memoryMb?.(target.version.extra["enable_dynamic_memory"] === true);
    const row = await prepareInvocation(store, target, {
      event: input.event,
      headers: input.headers,
      ...(memoryMb ? { memoryMb } : {}),
      now: clock.now(),
    });
    await queue.add(row);
    return row.requestId;
  };

  const records = async (projectId: string, urn: string, q: RecordsQuery) => {
    const target = await deps.resolve(projectId, urn);
    const qualified = target.ref.qualifier !== undefined;
    const { items, total } = await store.list({
      functionId: target.fn.id,
      ...(qualified ? { qualifier: qualifierOf(target) } : {}),
      ...(q.requestIds ? { requestIds: q.requestIds } : {}),
      ...(q.statuses ? { statuses: q.statuses } : {}),
      ...(q.from !== undefined ? { from: q.from } : {}),
      ...(q.to !== undefined ? { to: q.to } : {}),
      offset: q.marker,
      limit: q.limit,
    });
    return {
      invocations: items.map(toRecordModel),
      count: total,
      next_marker: q.marker + items.length,
    };
  };

  const cancel = async (projectId: string, urn: string, requestId: string): Promise<void> => {
    const target = await deps.resolve(projectId, urn);
    const row = requestId ? await store.get(requestId) : undefined;
    if (!row || row.functionId !== target.fn.id) {
      throw new FsError("INVALID_REQUEST_ID", `Invalid RequestId: ${requestId}`);
    }
    const found = await store.cancel(requestId, clock.now(), 4208, "function invocation canceled");
    if (found === "RUNNING") deps.dispatcher?.()?.cancelLocal(requestId);
    else if (found !== "WAIT") {
      throw new FsError(
        "INVALID_REQUEST_ID",
        `Invalid RequestId: ${requestId} has already finished`,
      );
    }
  };

  const configTarget = async (projectId: string, urn: string) => {
    const target = await deps.resolve(projectId, urn);
    const qualifier = qualifierOf(target);
    return { target, qualifier, funcUrn: toQualifiedUrn(target.ref, qualifier) };
  };

  const putConfig = async (projectId: string, urn: string, body: AsyncConfigBody) => {
    const { target, qualifier, funcUrn } = await configTarget(projectId, urn);
    const existing = await store.getConfig(target.fn.id, qualifier);
    const config = await toAsyncConfig(body, target, qualifier, {
      store,
      resolve: deps.resolve,
      now: clock.now(),
      ...(existing ? { existing } : {}),
    });
    await store.putConfig(config);
    return toConfigModel(config, funcUrn);
  };

  const getConfig = async (projectId: string, urn: string) => {
    const { target, qualifier, funcUrn } = await configTarget(projectId, urn);
    const c = await store.getConfig(target.fn.id, qualifier);
    if (!c) throw new FsError("ASYNC_CONFIG_NOT_FOUND", `no async invoke config for ${funcUrn}`);
    return toConfigModel(c, funcUrn);
  };

  const deleteConfig = async (projectId: string, urn: string): Promise<void> => {
    const { target, qualifier, funcUrn } = await configTarget(projectId, urn);
    if (!(await store.deleteConfig(target.fn.id, qualifier))) {
      throw new FsError("ASYNC_CONFIG_NOT_FOUND", `no async invoke config for ${funcUrn}`);
    }
  };

  const listConfigs = async (projectId: string, urn: string, marker: number, limit: number) => {
    const target = await deps.resolve(projectId, urn);
    const { items, total } = await store.listConfigs(target.fn.id, marker, limit);
    const base = toFunctionUrn(target.ref);
    return {
      async_invoke_configs: items.map((c) => toConfigModel(c, `${base}:${c.qualifier}`)),
      count: total,
      page_info: {
        next_marker: marker + items.length,
        previous_marker: Math.max(0, marker - limit),
        current_count: items.length,
      },
    };
  };

  return {
    accept,
    records,
    cancel,
    putConfig,
    getConfig,
    deleteConfig,
    listConfigs,
    drain: () => queue.drain(),
  };
}

export type AsyncService = ReturnType<typeof createAsyncService>;

/** One record of contract §1.5.5 (plus this installation's extra fields). */
export function toRecordModel(r: AsyncInvocation): Record<string, unknown> {
  return {
    request_id: r.requestId,
    status: r.status,
    error_message: r.errorMessage,
    error_code: r.errorCode,
    start_time: r.startedAt !== null ? toWireSeconds(r.startedAt) : "",
    end_time: r.endedAt !== null ? toWireSeconds(r.endedAt) : "",
    // Extensions: when it was accepted, how often it ran, what ran, where the outcome went.
    submit_time: toWireSeconds(r.createdAt),
    invoke_count: r.attempts,
    qualifier: r.qualifier,
    version: r.version,
    destination_status: r.destinationStatus,
  };
}
