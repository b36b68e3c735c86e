import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from "amqplib";
import type { Logger } from "../../core/logger.js";
import type { Delivery, TriggerRecord } from "../types.js";

export interface RabbitSettings {
  url: string;
  exchange: string;
  routingKey: string;
  queue: string;
  deadLetterQueue: string;
  batchSize: number;
}

export interface ConsumerDeps {
  delivery: Delivery;
  logger: Logger;
  region: string;
  /** How long a partial batch waits for more messages before it is delivered. */
  lingerMs?: number;
}

/** Our queue names for a trigger: one durable queue bound to the user's exchange, one DLQ. */
export const queueNames = (triggerId: string) => ({
  queue: `fngraph.trigger.${triggerId}`,
  deadLetterQueue: `fngraph.trigger.${triggerId}.dlq`,
});

/** The RABBITMQ event we chose (contract §4.10 is UNCONFIRMED; see docs/triggers.md). */
export function rabbitEvent(
  t: TriggerRecord,
  region: string,
  msgs: ConsumeMessage[],
  now: number,
): Record<string, unknown> {
  return {
    event_version: "v1.0",
    event_time: Math.floor(now / 1000),
    trigger_type: "RABBITMQ",
    region,
    instance_id: t.eventData["instance_id"] ?? "",
    records: [
      {
        messages: msgs.map((m) => m.content.toString("utf8")),
        exchange_name: t.eventData["exchange_name"],
        vhost: t.eventData["vhost"] ?? "/",
        routing_keys: msgs.map((m) => m.fields.routingKey),
      },
    ],
  };
}

/**
 * One RABBITMQ trigger's consumer: connects (and reconnects with backoff), binds our durable
 * queue to the exchange, delivers up to `batchSize` messages per event through the async queue,
 * acks once the function succeeded and rejects (→ our dead-letter queue) once the async retries
 * per the function's async config are spent. Unacked messages come back after a reconnect:
 * at-least-once.
 */
export function createRabbitConsumer(t: TriggerRecord, s: RabbitSettings, deps: ConsumerDeps) {
  const log = deps.logger.child({ triggerId: t.id, trigger: "RABBITMQ" });
  const linger = deps.lingerMs ?? 50;
  const abort = new AbortController();
  let conn: ChannelModel | undefined;
  let stopped = false;
  let backoff = 250;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let connected!: () => void;
  /** Resolves the first time the consumer is bound and consuming (tests wait on it). */
  const ready = new Promise<void>((r) => (connected = r));

  const connect = async (): Promise<void> => {
    if (stopped) return;
    try {
      const c = await amqp.connect(s.url, { timeout: 5000 });
      conn = c;
      c.on("error", (err: unknown) => log.warn({ err }, "rabbitmq connection error"));
      c.on("close", () => {
        if (conn === c) conn = undefined;
        if (!stopped) {
          log.warn("rabbitmq connection closed; reconnecting");
          schedule();
        }
      });
      const ch = await c.createChannel();
      ch.on("error", (err: unknown) => log.warn({ err }, "rabbitmq channel error"));
      await ch.checkExchange(s.exchange);
      await ch.assertQueue(s.deadLetterQueue, { durable: true });
      await ch.assertQueue(s.queue, {
        durable: true,
        arguments: {
          "x-dead-letter-exchange": "",
          "x-dead-letter-routing-key": s.deadLetterQueue,
        },
      });
      await ch.bindQueue(s.queue, s.exchange, s.routingKey);
      await ch.prefetch(s.batchSize);
      consume(ch);
      backoff = 250;
      log.info({ queue: s.queue }, "rabbitmq trigger consuming");
      connected();
    } catch (err) {
      log.warn({ err }, "rabbitmq trigger could not connect or bind; retrying");
      const c = conn;
      conn = undefined;
      // A failed bind leaves the connection open: close it, then retry from scratch.
      if (c) await c.close().catch(() => undefined);
      schedule();
    }
  };

  const schedule = (): void => {
    if (stopped || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, backoff);
    backoff = Math.min(backoff * 2, 5000);
  };

  const consume = (ch: Channel): void => {
    let buffer: ConsumeMessage[] = [];
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    let chain: Promise<void> = Promise.resolve();

    const flush = (): void => {
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = undefined;
      if (buffer.length === 0) return;
      const batch = buffer;
      buffer = [];
      chain = chain.then(() => deliver(ch, batch));
    };

    void ch.consume(
      s.queue,
      (m) => {
        if (!m) return; // cancelled by the broker (queue deleted)
        buffer.push(m);
        if (buffer.length >= s.batchSize) flush();
        else flushTimer ??= setTimeout(flush, linger);
      },
      { noAck: false },
    );
  };

  const deliver = async (ch: Channel, batch: ConsumeMessage[]): Promise<void> => {
    const settle = (fn: () => void): void => {
      try {
        fn();
      } catch (err) {
        // The channel died with the connection: the broker redelivers these messages.
        log.debug({ err }, "could not settle messages");
      }
    };
    try {
      const requestId = await deps.delivery.submit(
        t,
        rabbitEvent(t, deps.region, batch, Date.now()),
      );
      const outcome = await deps.delivery.outcome(requestId, abort.signal);
      if (outcome === "SUCCESS") settle(() => batch.forEach((m) => ch.ack(m)));
      else {
        log.warn({ requestId, outcome, messages: batch.length }, "dead-lettering messages");
        settle(() => batch.forEach((m) => ch.nack(m, false, false)));
      }
    } catch (err) {
      if (stopped) return;
      log.warn({ err }, "could not deliver a batch; requeueing it");
      await new Promise((r) => setTimeout(r, 1000));
      settle(() => batch.forEach((m) => ch.nack(m, false, true)));
    }
  };

  return {
    ready,
    start: () => void connect(),
    async stop(): Promise<void> {
      stopped = true;
      abort.abort();
      if (retryTimer) clearTimeout(retryTimer);
      const c = conn;
      conn = undefined;
      if (c) await c.close().catch(() => undefined);
    },
  };
}

export type RabbitConsumer = ReturnType<typeof createRabbitConsumer>;
