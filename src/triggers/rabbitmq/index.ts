import amqp from "amqplib";
import { z } from "zod";
import { FsError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { compact, looseBool, looseInt, parseEventData } from "../event-data.js";
import type { Delivery, TriggerKind, TriggerRecord, TriggerSource } from "../types.js";
import { createRabbitConsumer, queueNames, type RabbitConsumer } from "./consumer.js";

export { queueNames, rabbitEvent } from "./consumer.js";

const rabbitData = z
  .object({
    instance_id: z.string().max(64).optional(),
    exchange_name: z.string().min(1).max(255),
    vhost: z.string().min(1).max(255).default("/"),
    access_user: z.string().max(255).optional(),
    access_password: z.string().max(255).optional(),
    connect_address: z.string().min(1).max(1024),
    ssl_enable: looseBool.default(false),
    batch_size: looseInt.pipe(z.number().min(1).max(1000)).default(100),
    // Extension: the binding key of our queue ("#": everything on a topic exchange).
    routing_key: z.string().max(255).default("#"),
  })
  .loose();

/** `host:port`, `host` or an `amqp(s)://` URL plus vhost and credentials → one AMQP URL. */
export function toAmqpUrl(d: Record<string, unknown>): string {
  const address = String(d["connect_address"]);
  const ssl = d["ssl_enable"] === true;
  const u = new URL(
    /^amqps?:\/\//.test(address) ? address : `${ssl ? "amqps" : "amqp"}://${address}`,
  );
  if (!u.port) u.port = u.protocol === "amqps:" ? "5671" : "5672";
  if (typeof d["access_user"] === "string") u.username = encodeURIComponent(d["access_user"]);
  if (typeof d["access_password"] === "string")
    u.password = encodeURIComponent(d["access_password"]);
  const vhost = typeof d["vhost"] === "string" ? d["vhost"] : "/";
  u.pathname = `/${encodeURIComponent(vhost)}`;
  return u.toString();
}

export interface RabbitSourceDeps {
  delivery: Delivery;
  logger: Logger;
  region: string;
}

/** The RABBITMQ TriggerSource: one consumer per ACTIVE trigger. */
export function createRabbitSource(deps: RabbitSourceDeps): TriggerSource & {
  /** Resolves once the trigger's consumer is bound (tests). */
  ready(triggerId: string): Promise<void> | undefined;
} {
  const consumers = new Map<string, RabbitConsumer>();
  const stop = async (id: string): Promise<void> => {
    const c = consumers.get(id);
    consumers.delete(id);
    await c?.stop();
  };
  return {
    start: async (t: TriggerRecord) => {
      await stop(t.id);
      const c = createRabbitConsumer(
        t,
        {
          url: toAmqpUrl(t.eventData),
          exchange: String(t.eventData["exchange_name"]),
          routingKey:
            typeof t.eventData["routing_key"] === "string" ? t.eventData["routing_key"] : "#",
          batchSize: Number(t.eventData["batch_size"] ?? 100),
          ...queueNames(t.id),
        },
        deps,
      );
      consumers.set(t.id, c);
      c.start();
    },
    stop,
    ready: (id) => consumers.get(id)?.ready,
    removed: async (t) => {
      // Best effort: the broker may be down; the queues are then left for the operator.
      const names = queueNames(t.id);
      try {
        const conn = await amqp.connect(toAmqpUrl(t.eventData), { timeout: 3000 });
        try {
          const ch = await conn.createChannel();
          await ch.deleteQueue(names.queue);
          await ch.deleteQueue(names.deadLetterQueue);
        } finally {
          await conn.close().catch(() => undefined);
        }
      } catch (err) {
        deps.logger.warn({ err, triggerId: t.id }, "could not delete the trigger's queues");
      }
    },
    close: async () => {
      await Promise.all([...consumers.keys()].map(stop));
    },
  };
}

/** RABBITMQ (DMS for RabbitMQ): consumed from a real broker (see docs/triggers.md). */
export function rabbitKind(source: TriggerSource): TriggerKind {
  return {
    type: "RABBITMQ",
    defaultStatus: "ACTIVE",
    hidden: ["access_password"],
    parse: (data) => {
      const d = parseEventData(rabbitData, data, "INVALID_DMS_TRIGGER");
      try {
        toAmqpUrl(d);
      } catch {
        throw new FsError("INVALID_DMS_TRIGGER", `invalid connect_address: ${d.connect_address}`);
      }
      return { eventData: compact({ ...d }) };
    },
    update: (cur, patch) => {
      if (patch["batch_size"] === undefined) return cur;
      const b = parseEventData(
        rabbitData.shape.batch_size,
        patch["batch_size"],
        "INVALID_DMS_TRIGGER",
      );
      return { ...cur, batch_size: b };
    },
    source,
  };
}
