import { AckPolicy, DeliverPolicy, nanos, type JsMsg } from "nats";
import type { Logger } from "../../core/logger.js";
import type { Delivery, TriggerRecord, TriggerSource } from "../types.js";
import type { NatsLink } from "./nats-link.js";

export interface DisSourceDeps {
  link: NatsLink;
  delivery: Delivery;
  logger: Logger;
}

/** Our durable JetStream consumer for a trigger. */
export const consumerName = (triggerId: string): string => `fngraph-${triggerId}`;

/** `polling_interval` in `polling_unit` → ms. */
export function pollingMs(d: Record<string, unknown>): number {
  const n = Number(d["polling_interval"] ?? 30);
  return d["polling_unit"] === "ms" ? n : n * 1000;
}

/** The DIS event of contract §4.3 for one batch of JetStream messages. */
export function disEvent(t: TriggerRecord, msgs: JsMsg[]): Record<string, unknown> {
  const stream = String(t.eventData["stream_name"]);
  const last = msgs[msgs.length - 1];
  return {
    ShardID: "shardId-0000000000",
    Message: {
      next_partition_cursor: Buffer.from(
        JSON.stringify({ stream, consumer: consumerName(t.id), seq: (last?.seq ?? 0) + 1 }),
      ).toString("base64"),
      records: msgs.map((m) => ({
        partition_key: m.headers?.get("Partition-Key") || m.subject,
        data: Buffer.from(m.data).toString("base64"),
        sequence_number: String(m.seq),
        timestamp: Math.floor(m.info.timestampNanos / 1e6),
      })),
      millis_behind_latest: "",
    },
    Tag: t.qualifier,
    StreamName: stream,
  };
}

/**
 * The DIS TriggerSource on NATS JetStream: a stream is a DIS stream; each trigger owns a durable
 * pull consumer (`fngraph-<trigger id>`) whose deliver policy comes from `sharditerator_type`
 * (TRIM_HORIZON → all, LATEST → new), so its position survives restarts. Each poll fetches up to
 * `batch_size` records, waiting up to the polling interval. Serial triggers ack a batch once its
 * invocation finished (retries included) before fetching the next; others ack once the event is
 * durably queued.
 */
export function createDisSource(deps: DisSourceDeps): TriggerSource {
  const loops = new Map<string, AbortController>();

  const ensureConsumer = async (t: TriggerRecord): Promise<void> => {
    const jsm = await deps.link.jsm();
    const stream = String(t.eventData["stream_name"]);
    const name = consumerName(t.id);
    try {
      await jsm.consumers.info(stream, name);
    } catch {
      await jsm.consumers.add(stream, {
        durable_name: name,
        ack_policy: AckPolicy.Explicit,
        deliver_policy:
          t.eventData["sharditerator_type"] === "TRIM_HORIZON"
            ? DeliverPolicy.All
            : DeliverPolicy.New,
        ack_wait: nanos(10 * 60_000),
        max_ack_pending: Math.max(1000, Number(t.eventData["batch_size"] ?? 100) * 2),
      });
    }
  };

  const run = async (t: TriggerRecord, signal: AbortSignal): Promise<void> => {
    const log = deps.logger.child({ triggerId: t.id, trigger: "DIS" });
    const batch = Number(t.eventData["batch_size"] ?? 100);
    const serial = t.eventData["is_serial"] !== false;
    const poll = pollingMs(t.eventData);
    let backoff = 250;
    while (!signal.aborted) {
      try {
        await ensureConsumer(t);
        const js = await deps.link.js();
        const consumer = await js.consumers.get(
          String(t.eventData["stream_name"]),
          consumerName(t.id),
        );
        while (!signal.aborted) {
          const started = Date.now();
          const msgs: JsMsg[] = [];
          const iter = await consumer.fetch({ max_messages: batch, expires: Math.max(1000, poll) });
          const onAbort = (): void => void iter.close();
          signal.addEventListener("abort", onAbort, { once: true });
          for await (const m of iter) msgs.push(m);
          signal.removeEventListener("abort", onAbort);
          if (signal.aborted) return; // unacked: redelivered to the next run
          if (msgs.length === 0) {
            await sleep(Math.max(0, poll - (Date.now() - started)), signal);
            continue;
          }
          const requestId = await deps.delivery.submit(t, disEvent(t, msgs));
          if (serial) {
            const keepAlive = setInterval(() => msgs.forEach((m) => m.working()), 60_000);
            try {
              const outcome = await deps.delivery.outcome(requestId, signal);
              if (outcome !== "SUCCESS") log.warn({ requestId, outcome }, "DIS batch failed");
            } finally {
              clearInterval(keepAlive);
            }
          }
          msgs.forEach((m) => m.ack());
          backoff = 250;
        }
      } catch (err) {
        if (signal.aborted) return;
        log.warn({ err }, "DIS trigger poll failed; retrying");
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  };

  const stop = async (id: string): Promise<void> => {
    loops.get(id)?.abort();
    loops.delete(id);
  };

  return {
    start: async (t) => {
      await stop(t.id);
      const ac = new AbortController();
      loops.set(t.id, ac);
      void run(t, ac.signal);
    },
    stop,
    removed: async (t) => {
      try {
        const jsm = await deps.link.jsm();
        await jsm.consumers.delete(String(t.eventData["stream_name"]), consumerName(t.id));
      } catch (err) {
        deps.logger.warn({ err, triggerId: t.id }, "could not delete the trigger's consumer");
      }
    },
    close: async () => {
      for (const id of [...loops.keys()]) await stop(id);
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
