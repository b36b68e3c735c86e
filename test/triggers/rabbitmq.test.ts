import amqp, { type Channel, type ChannelModel } from "amqplib";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../helpers/platform.js";
import { startCollector, triggersApi, type Collector, type TriggerModel } from "./helpers.js";

const RUN = randomBytes(4).toString("hex");
const EXCHANGE = `fngraph-test-${RUN}`;
const AMQP = "amqp://guest:guest@127.0.0.1:5672";

let dataDir: string;
let t: TestPlatform;
let collector: Collector;
let conn: ChannelModel;
let ch: Channel;
const triggers: TriggerModel[] = [];

const openChannel = async (): Promise<void> => {
  conn = await amqp.connect(AMQP);
  conn.on("error", () => undefined);
  ch = await conn.createChannel();
};

/** Waits until our queue for `id` has a consumer (the trigger is bound and listening). */
async function consuming(id: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    // A missing queue closes the channel (404): one throwaway channel per probe.
    const probe = await conn.createChannel();
    probe.on("error", () => undefined);
    const q = await probe.checkQueue(`fngraph.trigger.${id}`).catch(() => undefined);
    if (q) await probe.close().catch(() => undefined);
    if (q && q.consumerCount > 0) return;
    if (Date.now() > until) throw new Error(`no consumer on the queue of trigger ${id}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const publish = (tag: string, from: number, n: number): string[] => {
  const sent = Array.from({ length: n }, (_, i) => `${tag}-${from + i}`);
  for (const m of sent) ch.publish(EXCHANGE, "any.key", Buffer.from(m), { persistent: true });
  return sent;
};

const received = (tag: string): string[] =>
  collector.events
    .filter((e) => e.tag === tag)
    .flatMap((e) => (e.event["records"] as { messages: string[] }[])[0]!.messages);

const rabbit = (extra: Record<string, unknown> = {}) => ({
  trigger_type_code: "RABBITMQ",
  event_data: {
    instance_id: "local",
    exchange_name: EXCHANGE,
    vhost: "/",
    connect_address: "127.0.0.1:5672",
    access_user: "guest",
    access_password: "guest",
    batch_size: 5,
    ...extra,
  },
});

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "fngraph-rabbit-"));
  collector = await startCollector();
  await openChannel();
  await ch.assertExchange(EXCHANGE, "topic", { durable: true, autoDelete: false });
  t = await startTestPlatform({ dataDir });
});
afterAll(async () => {
  for (const tr of triggers) {
    // Deleting the trigger deletes our queues; fallback when the test failed half-way.
    await ch?.deleteQueue(`fngraph.trigger.${tr.trigger_id}`).catch(() => undefined);
    await ch?.deleteQueue(`fngraph.trigger.${tr.trigger_id}.dlq`).catch(() => undefined);
  }
  await ch?.deleteExchange(EXCHANGE).catch(() => undefined);
  await conn?.close().catch(() => undefined);
  await t?.close();
  await collector?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("RABBITMQ trigger", () => {
  it("delivers batches, survives an fngraph restart and a broker restart", async () => {
    const api = triggersApi(t);
    await api.createReporter("rq-ok", collector, "ok");
    const tr = await api.mustCreate(api.urn("rq-ok"), rabbit());
    triggers.push(tr);
    expect(tr.event_data).not.toHaveProperty("access_password");
    await consuming(tr.trigger_id);

    const first = publish("ok", 0, 12);
    await collector.waitFor(() => first.every((m) => received("ok").includes(m)));
    const ev = collector.events.find((e) => e.tag === "ok")!.event;
    expect(ev).toMatchObject({
      event_version: "v1.0",
      trigger_type: "RABBITMQ",
      instance_id: "local",
    });
    for (const e of collector.events.filter((x) => x.tag === "ok"))
      expect(
        (e.event["records"] as { messages: string[] }[])[0]!.messages.length,
      ).toBeLessThanOrEqual(5);

    // fngraph down: messages wait in our durable queue, then arrive after the restart.
    await t.platform.close();
    const whileDown = publish("ok", 100, 4);
    t = await startTestPlatform({ dataDir });
    await collector.waitFor(() => whileDown.every((m) => received("ok").includes(m)));

    // Broker restart: the trigger reconnects by itself.
    await conn.close().catch(() => undefined);
    execFileSync("rabbitmqctl", ["stop_app"], { stdio: "ignore" });
    execFileSync("rabbitmqctl", ["start_app"], { stdio: "ignore" });
    await openChannel();
    await consuming(tr.trigger_id, 60_000);
    const afterBroker = publish("ok", 200, 3);
    await collector.waitFor(() => afterBroker.every((m) => received("ok").includes(m)));
  }, 180_000);

  it("dead-letters a batch once the function failed and its async retries are spent", async () => {
    const api = triggersApi(t);
    await api.createReporter("rq-fail", collector, "fail", true);
    const cfg = await t.api(
      "PUT",
      t.v2(`/fgs/functions/${api.urn("rq-fail")}/async-invoke-config`),
      {
        max_async_retry_attempts: 0,
        max_async_event_age_in_seconds: 3600,
      },
    );
    expect(cfg.status, cfg.text).toBe(200);
    const tr = await api.mustCreate(
      api.urn("rq-fail"),
      rabbit({ routing_key: "#", batch_size: 10 }),
    );
    triggers.push(tr);
    await consuming(tr.trigger_id);
    publish("fail", 0, 2);
    await collector.waitFor(() => received("fail").length >= 2);
    const until = Date.now() + 30_000;
    let dead = 0;
    while (Date.now() < until) {
      dead = (await ch.checkQueue(`fngraph.trigger.${tr.trigger_id}.dlq`)).messageCount;
      if (dead >= 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(dead).toBe(2);
    // Deleting the trigger deletes its queues.
    const del = await t.api(
      "DELETE",
      t.v2(`/fgs/triggers/${api.urn("rq-fail")}/RABBITMQ/${tr.trigger_id}`),
    );
    expect(del.status).toBe(204);
    const probe = await conn.createChannel();
    probe.on("error", () => undefined);
    await expect(probe.checkQueue(`fngraph.trigger.${tr.trigger_id}`)).rejects.toThrow();
  }, 120_000);
});
