import { randomUUID } from "node:crypto";
import type { Clock } from "../core/clock.js";
import { FsError, isFsError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type { FunctionRecord } from "../core/types.js";
import { toQualifiedUrn } from "../core/urn.js";
import type { TriggerStore } from "../store/trigger-types.js";
import type { TriggerRegistry } from "./registry.js";
import type { ResolveFunction, TriggerKind, TriggerRecord, TriggerStatus } from "./types.js";
import { TRIGGER_TYPES } from "./types.js";

/** Contract §5: at most 10 triggers per function version (or alias). */
export const MAX_TRIGGERS_PER_QUALIFIER = 10;

export interface TriggerServiceDeps {
  store: TriggerStore;
  registry: TriggerRegistry;
  resolve: ResolveFunction;
  /** Aliases of a function (to drop an alias's triggers with the version it points to). */
  listAliases(functionId: string): Promise<{ name: string; version: string }[]>;
  clock: Clock;
  logger: Logger;
}

export interface CreateTriggerInput {
  type: string;
  status?: TriggerStatus;
  eventTypeCode?: string;
  eventData: unknown;
}

export interface UpdateTriggerInput {
  status?: TriggerStatus;
  eventData?: Record<string, unknown>;
}

/** Trigger CRUD (contract §1.7), restore on start-up, and the sources' lifecycles. */
export function createTriggerService(deps: TriggerServiceDeps) {
  const { store, registry, clock } = deps;
  const log = deps.logger;

  const kindOf = (type: string): TriggerKind => {
    const k = registry.kinds.get(type);
    if (!k) {
      throw new FsError(
        "INVALID_TRIGGER_TYPE",
        `trigger_type_code must be one of ${TRIGGER_TYPES.join(", ")}: "${type}"`,
      );
    }
    return k;
  };

  const target = async (projectId: string, urn: string) => {
    const r = await deps.resolve(projectId, urn);
    const qualifier = r.alias ? `!${r.alias}` : r.version.version;
    return {
      ...r,
      qualifier,
      funcUrn: toQualifiedUrn({ ...r.fn, region: r.ref.region }, qualifier),
    };
  };

  const startSource = async (t: TriggerRecord, enabled = false): Promise<void> => {
    const src = registry.kinds.get(t.type)?.source;
    if (!src || t.status !== "ACTIVE") return;
    try {
      if (enabled) await src.enabled?.(t);
      await src.start(t);
    } catch (err) {
      log.error({ err, triggerId: t.id, type: t.type }, "trigger source did not start");
    }
  };
  const stopSource = async (t: TriggerRecord): Promise<void> => {
    await registry.kinds.get(t.type)?.source?.stop(t.id);
  };

  const drop = async (t: TriggerRecord): Promise<void> => {
    await stopSource(t);
    await store.delete(t.id);
    await registry.kinds.get(t.type)?.source?.removed?.(t);
  };

  const create = async (projectId: string, urn: string, input: CreateTriggerInput) => {
    const kind = kindOf(input.type);
    const tg = await target(projectId, urn);
    const id = randomUUID();
    const now = clock.now();
    const parsed = await kind.parse(input.eventData, {
      triggerId: id,
      projectId,
      fn: tg.fn,
      qualifier: tg.qualifier,
      now,
    });
    const t: TriggerRecord = {
      id,
      projectId,
      functionId: tg.fn.id,
      qualifier: tg.qualifier,
      funcUrn: tg.funcUrn,
      type: kind.type,
      status: input.status ?? kind.defaultStatus,
      eventData: parsed.eventData,
      internal: {
        ...parsed.internal,
        ...(input.eventTypeCode ? { event_type_code: input.eventTypeCode } : {}),
      },
      createdAt: now,
      updatedAt: now,
    };
    let clash: FsError | undefined;
    const created = await store.create(t, (all) => {
      const mine = all.filter((o) => o.functionId === t.functionId && o.qualifier === t.qualifier);
      if (mine.length >= MAX_TRIGGERS_PER_QUALIFIER) {
        clash = new FsError(
          "TRIGGER_QUOTA",
          `a function version or alias has at most ${MAX_TRIGGERS_PER_QUALIFIER} triggers`,
        );
        return true;
      }
      for (const o of all) {
        clash = kind.conflict?.(t, o);
        if (clash) return true;
      }
      return false;
    });
    if (!created) throw clash ?? new FsError("CONFLICT");
    await startSource(t);
    return t;
  };

  const list = async (projectId: string, urn: string): Promise<TriggerRecord[]> => {
    const tg = await target(projectId, urn);
    return store.listByFunction(tg.fn.id, tg.qualifier);
  };

  const find = async (projectId: string, urn: string, type: string, id: string) => {
    const tg = await target(projectId, urn);
    const t = await store.get(id);
    if (!t || t.functionId !== tg.fn.id || t.type !== type)
      throw new FsError("TRIGGER_NOT_FOUND", `Not found the trigger: ${id}`);
    return t;
  };

  const update = async (
    projectId: string,
    urn: string,
    type: string,
    id: string,
    input: UpdateTriggerInput,
  ): Promise<TriggerRecord> => {
    const t = await find(projectId, urn, type, id);
    const kind = kindOf(t.type);
    const wasActive = t.status === "ACTIVE";
    const next: TriggerRecord = {
      ...t,
      status: input.status ?? t.status,
      eventData:
        input.eventData && kind.update ? kind.update(t.eventData, input.eventData) : t.eventData,
      updatedAt: clock.now(),
    };
    await stopSource(t);
    await store.put(next);
    await startSource(next, !wasActive);
    return next;
  };

  const remove = async (projectId: string, urn: string, type: string, id: string) => {
    await drop(await find(projectId, urn, type, id));
  };

  /** Unqualified URN: every trigger of the function; qualified: that version's or alias's. */
  const removeAll = async (projectId: string, urn: string): Promise<void> => {
    const tg = await target(projectId, urn);
    const qualified = tg.ref.qualifier !== undefined;
    for (const t of await store.listByFunction(tg.fn.id, qualified ? tg.qualifier : undefined))
      await drop(t);
  };

  /** Restore every ACTIVE trigger's source (start-up). */
  const start = async (): Promise<number> => {
    const all = await store.listAll();
    for (const t of all) await startSource(t);
    return all.length;
  };

  /** Version hooks (api VersionHooks): drop triggers with their version, count an alias's. */
  const hooks = {
    deleting: async (fn: FunctionRecord, version?: string): Promise<void> => {
      let doomed: TriggerRecord[];
      if (version === undefined) doomed = await store.listByFunction(fn.id);
      else {
        const aliases = (await deps.listAliases(fn.id)).filter((a) => a.version === version);
        const qs = new Set([version, ...aliases.map((a) => `!${a.name}`)]);
        doomed = (await store.listByFunction(fn.id)).filter((t) => qs.has(t.qualifier));
      }
      for (const t of doomed) {
        try {
          await drop(t);
        } catch (err) {
          if (!isFsError(err)) log.warn({ err, triggerId: t.id }, "could not drop a trigger");
        }
      }
    },
    triggerCount: async (fn: FunctionRecord, qualifier: string): Promise<number> =>
      (await store.listByFunction(fn.id, qualifier)).length,
  };

  return {
    create,
    list,
    get: find,
    update,
    remove,
    removeAll,
    start,
    kindOf,
    hooks,
    close: registry.close,
  };
}

export type TriggerService = ReturnType<typeof createTriggerService>;
