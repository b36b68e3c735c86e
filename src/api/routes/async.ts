import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { asyncConfigBody, ASYNC_LIMITS, type AsyncService } from "../../async/index.js";
import { FsError } from "../../core/errors.js";
import { ASYNC_STATUSES, type AsyncStatus } from "../../store/async.js";
import { headerMap, jsonBody } from "../app.js";
import { parseBody, parseInstanceMemory } from "../validate.js";

export interface AsyncRouteDeps {
  async: AsyncService;
  now: () => number;
}

type P = { project_id: string; urn: string };
type Q = Record<string, string | undefined>;
const HOUR_MS = 3_600_000;

const cancelBody = z.object({
  request_id: z.string(),
  type: z.string().optional(),
});

/**
 * Async invocation routes: AsyncInvokeFunction, ListAsyncInvocations,
 * ListActiveAsyncInvocations, CancelAsyncInvocation (contract §1.5.2–§1.5.5) and the async
 * invoke configs (§1.9).
 */
export function registerAsyncRoutes(app: FastifyInstance, deps: AsyncRouteDeps): void {
  const svc = deps.async;

  app.post("/fgs/functions/:urn/invocations-async", async (req, reply) => {
    const p = req.params as P;
    if (req.rawBody.length > ASYNC_LIMITS.eventBytes) {
      throw new FsError(
        "INVOKE_BODY_TOO_LARGE",
        `the async event exceeds ${ASYNC_LIMITS.eventBytes} bytes`,
      );
    }
    const headers = headerMap(req);
    const requestId = await svc.accept(p.project_id, p.urn, {
      event: req.rawBody.toString("utf8"),
      headers,
      memoryMb: (enabled) => parseInstanceMemory(headers, enabled),
    });
    return reply.code(202).header("X-Cff-Request-Id", requestId).send({ request_id: requestId });
  });

  app.get("/fgs/functions/:urn/async-invocations", async (req) => {
    const p = req.params as P;
    const q = req.query as Q;
    const requestIds = q["request_id"] ? [q["request_id"]] : undefined;
    return svc.records(p.project_id, p.urn, {
      ...page(q, 100, ASYNC_LIMITS.listLimit),
      ...(requestIds ? { requestIds } : {}),
      ...statuses(q["status"], ASYNC_STATUSES),
      ...window(q, deps.now(), requestIds === undefined),
    });
  });

  app.get("/fgs/functions/:urn/active-async-invocations", async (req) => {
    const p = req.params as P;
    const q = req.query as Q;
    const requestIds = q["requests"]
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const active = statuses(q["status"], ["WAIT", "RUNNING"]);
    return svc.records(p.project_id, p.urn, {
      ...page(q, 100, ASYNC_LIMITS.listLimit),
      ...(requestIds?.length ? { requestIds } : {}),
      statuses: active.statuses ?? ["WAIT", "RUNNING"],
      // Active requests are listed whatever their age unless a window is asked for.
      ...window(q, deps.now(), false),
    });
  });

  app.post("/fgs/functions/:urn/cancel", async (req: FastifyRequest, reply) => {
    const p = req.params as P;
    const body = parseBody(cancelBody, jsonBody(req));
    if (body.type !== undefined && body.type !== "force") {
      throw new FsError("INVALID_PARAMETER", 'only type "force" (not recursive) is supported');
    }
    await svc.cancel(p.project_id, p.urn, body.request_id);
    // The contract documents a `null` body, but the official Node SDK crashes on one
    // (`typeof null === "object"`), so the answer is 200 with an empty body.
    return reply.code(200).send();
  });

  app.put("/fgs/functions/:urn/async-invoke-config", async (req) => {
    const p = req.params as P;
    return svc.putConfig(p.project_id, p.urn, parseBody(asyncConfigBody, jsonBody(req)));
  });

  app.get("/fgs/functions/:urn/async-invoke-config", async (req) => {
    const p = req.params as P;
    return svc.getConfig(p.project_id, p.urn);
  });

  app.delete("/fgs/functions/:urn/async-invoke-config", async (req, reply) => {
    const p = req.params as P;
    await svc.deleteConfig(p.project_id, p.urn);
    return reply.code(204).send();
  });

  app.get("/fgs/functions/:urn/async-invoke-configs", async (req) => {
    const p = req.params as P;
    const { marker, limit } = page(req.query as Q, 10, 100);
    return svc.listConfigs(p.project_id, p.urn, marker, limit);
  });
}

function page(q: Q, defaultLimit: number, maxLimit: number): { marker: number; limit: number } {
  const marker = q["marker"] === undefined || q["marker"] === "" ? 0 : Number(q["marker"]);
  const limit = q["limit"] === undefined || q["limit"] === "" ? defaultLimit : Number(q["limit"]);
  if (!Number.isInteger(marker) || marker < 0)
    throw new FsError("INVALID_QUERY", "marker must be a non-negative integer");
  if (!Number.isInteger(limit) || limit <= 0 || limit > maxLimit)
    throw new FsError("INVALID_QUERY", `limit must be an integer from 1 to ${maxLimit}`);
  return { marker, limit };
}

function statuses(
  raw: string | undefined,
  allowed: readonly AsyncStatus[],
): { statuses?: AsyncStatus[] } {
  if (raw === undefined || raw === "") return {};
  const list = raw.split(",").map((s) => s.trim().toUpperCase());
  for (const s of list) {
    if (!(allowed as readonly string[]).includes(s))
      throw new FsError("INVALID_QUERY", `status must be one of ${allowed.join(", ")}`);
  }
  return { statuses: list as AsyncStatus[] };
}

const BARE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

/** `YYYY-MM-DDTHH:mm:ss` (UTC, contract §1.5.5); full ISO-8601 is accepted too. */
function parseTime(raw: string, name: string, endOfSecond: boolean): number {
  const bare = BARE_TIME.test(raw);
  const t = Date.parse(bare ? `${raw}Z` : raw);
  if (Number.isNaN(t))
    throw new FsError("INVALID_QUERY", `${name} must look like 2026-01-31T08:00:00 (UTC)`);
  return bare && endOfSecond ? t + 999 : t;
}

function window(q: Q, now: number, defaultLastHour: boolean): { from?: number; to?: number } {
  const b = q["query_begin_time"];
  const e = q["query_end_time"];
  if (!b && !e) return defaultLastHour ? { from: now - HOUR_MS, to: now } : {};
  const from = b ? parseTime(b, "query_begin_time", false) : undefined;
  const to = e ? parseTime(e, "query_end_time", true) : undefined;
  if (from !== undefined && to !== undefined && from > to)
    throw new FsError("INVALID_QUERY", "query_begin_time is after query_end_time");
  return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}
