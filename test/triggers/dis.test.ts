import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect, headers as natsHeaders, type JetStreamManager, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../helpers/platform.js";
import { errorCode, startCollector, triggersApi, type Collector } from "./helpers.js";

const RUN = randomBytes(4).toString("hex");
const STREAM = `fngraph-test-${RUN}`;
const SUBJECT = `fgtest.${RUN}`;

let dataDir: string;
let t: TestPlatform;
let collector: Collector;
let nc: NatsConnection;
let jsm: JetStreamManager;

const publish = async (tag: string, from: number, n: number): Promise<string[]> => {
  const js = nc.jetstream();
  const sent: string[] = [];
  for (let i = from; i < from + n; i++) {
    const h = natsHeaders();
    h.set("Partition-Key", `pk-${i % 2}`);
    await js.publish(`${SUBJECT}.data`, Buffer.from(`${tag}-${i}`), { headers: h });
    sent.push(`${tag}-${i}`);
  }
  return sent;
};

type Rec = { data: string; partition_key: string; sequence_number: string };
const received = (tag: string): string[] =>
  collector.events
    .filter((e) => e.tag === tag)
    .flatMap((e) => (e.event["Message"] as { records: Rec[] }).records)
    .map((r) => Buffer.from(r.data, "base64").toString("utf8"));

const dis = (sharditerator_type: string) => ({
  trigger_type_code: "DIS",
  event_data: {
    stream_name: STREAM,
    sharditerator_type,
    polling_interval: 200,
    polling_unit: "ms",
    batch_size: 2,
    is_serial: "true",
  },
});

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "fngraph-dis-"));
  collector = await startCollector();
  nc = await connect({ servers: "nats://127.0.0.1:4222" });
  jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: STREAM, subjects: [`${SUBJECT}.>`] });
  t = await startTestPlatform({ dataDir });
});
afterAll(async () => {
  await t?.close();
  await jsm?.streams.delete(STREAM).catch(() => undefined);
  await nc?.close();
  await collector?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("DIS trigger on JetStream", () => {
  it("reads from the oldest or only new records, in batches, across an fngraph restart", async () => {
    const api = triggersApi(t);
    const old = await publish("m", 0, 3);
    await api.createReporter("dis-trim", collector, "trim");
    await api.createReporter("dis-latest", collector, "latest");
    const missing = await api.create(api.urn("dis-trim"), {
      ...dis("LATEST"),
      event_data: { ...dis("LATEST").event_data, stream_name: `nope-${RUN}` },
    });
    expect([missing.status, errorCode(missing)]).toEqual([404, "FSS.1130"]);
    const trim = await api.mustCreate(api.urn("dis-trim"), dis("TRIM_HORIZON"));
    const latest = await api.mustCreate(api.urn("dis-latest"), dis("LATEST"));
    // The LATEST consumer starts when its trigger starts: wait for it before publishing.
    for (let i = 0; i < 100; i++) {
      const names: string[] = [];
      for await (const c of jsm.consumers.list(STREAM)) names.push(c.name);
      if (names.includes(`fngraph-${latest.trigger_id}`)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const fresh = await publish("m", 3, 4);
    await collector.waitFor(() => [...old, ...fresh].every((m) => received("trim").includes(m)));
    await collector.waitFor(() => fresh.every((m) => received("latest").includes(m)));
    expect(received("latest").filter((m) => old.includes(m))).toEqual([]);

    const ev = collector.events.find((e) => e.tag === "trim")!.event;
    expect(ev).toMatchObject({ ShardID: "shardId-0000000000", StreamName: STREAM, Tag: "latest" });
    const msg = ev["Message"] as { records: Rec[]; next_partition_cursor: string };
    expect(msg.records.length).toBeLessThanOrEqual(2);
    expect(msg.records[0]).toMatchObject({ partition_key: "pk-0", sequence_number: "1" });
    expect(typeof msg.next_partition_cursor).toBe("string");

    // Down: records published meanwhile arrive after the restart (durable consumers).
    await t.platform.close();
    const whileDown = await publish("m", 7, 3);
    t = await startTestPlatform({ dataDir });
    await collector.waitFor(() => whileDown.every((m) => received("trim").includes(m)));
    await collector.waitFor(() => whileDown.every((m) => received("latest").includes(m)));

    // Deleting the triggers deletes their durable consumers.
    for (const [fn, tr] of [
      ["dis-trim", trim],
      ["dis-latest", latest],
    ] as const) {
      const del = await t.api("DELETE", t.v2(`/fgs/triggers/${api.urn(fn)}/DIS/${tr.trigger_id}`));
      expect(del.status).toBe(204);
    }
    const left: string[] = [];
    for await (const c of jsm.consumers.list(STREAM)) left.push(c.name);
    expect(left).toEqual([]);
  }, 180_000);
});
