import { connect, type JetStreamClient, type JetStreamManager, type NatsConnection } from "nats";
import type { Logger } from "../../core/logger.js";

/**
 * One shared NATS connection for every DIS trigger, opened on first use. The client reconnects
 * by itself after a server restart; a failed first connect is retried on the next use.
 */
export function createNatsLink(url: string, logger: Logger) {
  let pending: Promise<NatsConnection> | undefined;
  let closed = false;

  const get = async (): Promise<NatsConnection> => {
    if (closed) throw new Error("the NATS link is closed");
    pending ??= connect({
      servers: url,
      name: "fngraph-triggers",
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      timeout: 3000,
    }).then(
      (nc) => {
        void nc.closed().then(() => {
          pending = undefined;
        });
        void (async () => {
          for await (const s of nc.status()) logger.debug({ status: s.type }, "nats status");
        })();
        return nc;
      },
      (err: unknown) => {
        pending = undefined;
        throw err;
      },
    );
    return pending;
  };

  return {
    url,
    connection: get,
    js: async (): Promise<JetStreamClient> => (await get()).jetstream(),
    jsm: async (): Promise<JetStreamManager> => (await get()).jetstreamManager({ timeout: 3000 }),
    close: async (): Promise<void> => {
      closed = true;
      const p = pending;
      pending = undefined;
      if (p) await (await p.catch(() => undefined))?.drain().catch(() => undefined);
    },
  };
}

export type NatsLink = ReturnType<typeof createNatsLink>;
