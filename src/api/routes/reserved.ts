import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { FsError } from "../../core/errors.js";
import type { FunctionRecord } from "../../core/types.js";
import { toQualifiedUrn } from "../../core/urn.js";
import type { ReservedInstances } from "../../invoker/reserved-instances.js";
import type { ReservedConfig } from "../../store/reserved.js";
import { jsonBody } from "../app.js";
import type { FunctionService } from "../function-service.js";
import { parseBody } from "../validate.js";

export interface ReservedRouteDeps {
  functions: FunctionService;
  reserved: ReservedInstances;
  functionById(id: string): Promise<FunctionRecord | undefined>;
  region: string;
  now: () => number;
}

const count = z.number().int().min(0).max(1000);

const reservedBody = z.object({
  count,
  idle_mode: z.boolean().optional(),
  tactics_config: z
    .object({
      cron_configs: z
        .array(
          z.object({
            name: z.string().min(1).max(60),
            cron: z.string().min(1).max(256),
            count,
            start_time: z.number().int().min(0),
            expired_time: z.number().int().min(0),
          }),
        )
        .max(10)
        .optional(),
      metric_configs: z
        .array(
          z.object({
            name: z.string().min(1).max(60),
            type: z.literal("Concurrency"),
            // Percent of concurrency utilisation (docs/decisions.md).
            threshold: z.number().int().min(1).max(100),
            min: z.number().int().min(0).max(1000),
          }),
        )
        .max(10)
        .optional(),
    })
    .optional(),
});

type P = { project_id: string; urn: string };

function toTactics(c: ReservedConfig): Record<string, unknown> {
  return {
    cron_configs: c.cronConfigs.map((x) => ({
      name: x.name,
      cron: x.cron,
      count: x.count,
      start_time: x.startTime,
      expired_time: x.expiredTime,
    })),
    metric_configs: c.metricConfigs.map((x) => ({ ...x })),
  };
}

/** `marker` (offset) and `limit` (1..400, default 400); bad values → FSS.1001. */
function page(query: unknown): { marker: number; limit: number } {
  const q = query as Record<string, string | undefined>;
  const marker = q["marker"] ? Number(q["marker"]) : 0;
  const limit = q["limit"] ? Number(q["limit"]) : 400;
  if (!Number.isInteger(marker) || marker < 0)
    throw new FsError("INVALID_QUERY", "marker must be a non-negative integer");
  if (!Number.isInteger(limit) || limit <= 0 || limit > 400)
    throw new FsError("INVALID_QUERY", "limit must be an integer from 1 to 400");
  return { marker, limit };
}

/** Reserved instances (contract §1.10): PUT per function/qualifier, two list views. */
export function registerReservedRoutes(app: FastifyInstance, deps: ReservedRouteDeps): void {
  const urnOf = async (c: ReservedConfig): Promise<string | undefined> => {
    const fn = await deps.functionById(c.functionId);
    if (!fn) return undefined;
    const q = c.qualifierType === "alias" ? `!${c.qualifier}` : c.qualifier;
    return toQualifiedUrn(
      { region: deps.region, projectId: fn.projectId, package: fn.package, name: fn.name },
      q,
    );
  };

  /** The project's configs (optionally of one function), with their URNs, oldest first. */
  const listed = async (
    projectId: string,
    urnFilter: string | undefined,
  ): Promise<{ c: ReservedConfig; urn: string }[]> => {
    let functionId: string | undefined;
    if (urnFilter) functionId = (await deps.functions.resolve(projectId, urnFilter)).fn.id;
    const out: { c: ReservedConfig; urn: string }[] = [];
    for (const c of await deps.reserved.list(projectId)) {
      if (functionId && c.functionId !== functionId) continue;
      const urn = await urnOf(c);
      if (urn) out.push({ c, urn });
    }
    return out;
  };

  const pageInfo = (marker: number, shown: number, total: number) => ({
    next_marker: marker + shown < total ? marker + shown : 0,
    previous_marker: marker,
    current_count: shown,
  });

  app.put("/fgs/functions/:urn/reservedinstances", async (req: FastifyRequest) => {
    const p = req.params as P;
    const body = parseBody(reservedBody, jsonBody(req));
    const resolved = await deps.functions.resolve(p.project_id, p.urn);
    const crons = body.tactics_config?.cron_configs ?? [];
    for (const c of crons) {
      if (c.expired_time <= c.start_time) {
        throw new FsError("INVALID_PARAMETER", `cron config ${c.name}: expired_time ≤ start_time`);
      }
    }
    const config: ReservedConfig = {
      projectId: p.project_id,
      functionId: resolved.fn.id,
      qualifier: resolved.alias || resolved.version.version,
      qualifierType: resolved.alias ? "alias" : "version",
      count: body.count,
      idleMode: body.idle_mode ?? false,
      cronConfigs: crons.map((c) => ({
        name: c.name,
        cron: c.cron,
        count: c.count,
        startTime: c.start_time,
        expiredTime: c.expired_time,
      })),
      metricConfigs: body.tactics_config?.metric_configs ?? [],
      updatedAt: deps.now(),
    };
    await deps.reserved.put(config, {
      fn: resolved.fn,
      version: resolved.version,
      alias: resolved.alias,
    });
    return {
      count: config.count,
      idle_mode: config.idleMode,
      tactics_config: toTactics(config),
    };
  });

  app.get("/fgs/functions/reservedinstances", async (req: FastifyRequest) => {
    const p = req.params as P;
    const { marker, limit } = page(req.query);
    const urn = (req.query as Record<string, string | undefined>)["urn"];
    const all = await listed(p.project_id, urn || undefined);
    const shown = all.slice(marker, marker + limit);
    return {
      reservedinstances: shown.map(({ c, urn: u }) => ({
        func_urn: u,
        count: deps.reserved.effectiveCount(c),
      })),
      page_info: pageInfo(marker, shown.length, all.length),
      count: all.length,
    };
  });

  app.get("/fgs/functions/reservedinstanceconfigs", async (req: FastifyRequest) => {
    const p = req.params as P;
    const { marker, limit } = page(req.query);
    const urn = (req.query as Record<string, string | undefined>)["function_urn"];
    const all = await listed(p.project_id, urn || undefined);
    const shown = all.slice(marker, marker + limit);
    return {
      reserved_instances: shown.map(({ c, urn: u }) => ({
        function_urn: u,
        qualifier_type: c.qualifierType,
        qualifier_name: c.qualifier,
        min_count: c.count,
        idle_mode: c.idleMode,
        tactics_config: toTactics(c),
      })),
      page_info: pageInfo(marker, shown.length, all.length),
      count: all.length,
    };
  });
}
