import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { FsError } from "../../core/errors.js";
import type { TriggerRecord, TriggerService } from "../../triggers/index.js";
import { jsonBody } from "../app.js";
import { parseBody } from "../validate.js";
import { toWireTime } from "../wire.js";

export interface TriggerRouteDeps {
  triggers: TriggerService;
}

type P = { project_id: string; urn: string; type: string; id: string };
const params = (req: FastifyRequest): P => req.params as P;

const status = z.enum(["ACTIVE", "DISABLED"]);
const createBody = z
  .object({
    trigger_type_code: z.string().optional(),
    trigger_status: status.optional(),
    event_type_code: z.string().max(64).optional(),
    event_data: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();
const updateBody = z
  .object({
    trigger_status: status.optional(),
    // The SDK types it as an array of one object; plain objects are accepted too.
    event_data: z
      .union([z.record(z.string(), z.unknown()), z.array(z.record(z.string(), z.unknown())).max(1)])
      .optional(),
  })
  .loose();

const wireTime = (ms: number): string => toWireTime(new Date(ms).toISOString());

/** One trigger as the contract shows it (create, show, update, list item). */
export function toTriggerModel(
  triggers: TriggerService,
  t: TriggerRecord,
): Record<string, unknown> {
  const kind = triggers.kindOf(t.type);
  const data: Record<string, unknown> = { ...t.eventData };
  for (const h of kind.hidden ?? []) delete data[h];
  const eventTypeCode = t.internal["event_type_code"];
  return {
    trigger_id: t.id,
    trigger_type_code: t.type,
    trigger_status: t.status,
    ...(typeof eventTypeCode === "string" ? { event_type_code: eventTypeCode } : {}),
    // event_data.status says DISABLE (sic) where trigger_status says DISABLED (contract §1.7).
    event_data: {
      ...data,
      ...kind.present?.(t),
      status: t.status === "ACTIVE" ? "ACTIVE" : "DISABLE",
    },
    last_updated_time: wireTime(t.updatedAt),
    created_time: wireTime(t.createdAt),
  };
}

/** Trigger API (contract §1.7): create 201, list (bare array), show, update, delete, delete all. */
export function registerTriggerRoutes(app: FastifyInstance, deps: TriggerRouteDeps): void {
  const { triggers } = deps;
  const model = (t: TriggerRecord) => toTriggerModel(triggers, t);

  app.post("/fgs/triggers/:urn", async (req, reply) => {
    const body = parseBody(createBody, jsonBody(req));
    if (!body.trigger_type_code)
      throw new FsError("INVALID_TRIGGER_TYPE", "trigger_type_code is required");
    const t = await triggers.create(params(req).project_id, params(req).urn, {
      type: body.trigger_type_code,
      ...(body.trigger_status ? { status: body.trigger_status } : {}),
      ...(body.event_type_code ? { eventTypeCode: body.event_type_code } : {}),
      eventData: body.event_data ?? {},
    });
    return reply.code(201).send(model(t));
  });

  app.get("/fgs/triggers/:urn", async (req) =>
    (await triggers.list(params(req).project_id, params(req).urn)).map(model),
  );

  app.delete("/fgs/triggers/:urn", async (req, reply) => {
    await triggers.removeAll(params(req).project_id, params(req).urn);
    return reply.code(204).send();
  });

  app.get("/fgs/triggers/:urn/:type/:id", async (req) => {
    const p = params(req);
    return model(await triggers.get(p.project_id, p.urn, p.type, p.id));
  });

  app.put("/fgs/triggers/:urn/:type/:id", async (req) => {
    const p = params(req);
    const body = parseBody(updateBody, jsonBody(req));
    const ed = Array.isArray(body.event_data) ? body.event_data[0] : body.event_data;
    const t = await triggers.update(p.project_id, p.urn, p.type, p.id, {
      ...(body.trigger_status ? { status: body.trigger_status } : {}),
      ...(ed ? { eventData: ed } : {}),
    });
    return model(t);
  });

  app.delete("/fgs/triggers/:urn/:type/:id", async (req, reply) => {
    const p = params(req);
    await triggers.remove(p.project_id, p.urn, p.type, p.id);
    return reply.code(204).send();
  });
}
