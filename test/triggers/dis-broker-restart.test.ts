import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { connect, type NatsConnection } from "nats";
import { afterAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../helpers/platform.js";
import { startCollector, triggersApi, type Collector } from "./helpers.js";

// A private JetStream server (its own port and store), so the test may restart the broker
// without disturbing the machine's shared NATS.
const NATS = "/usr/sbin/nats-server";
const RUN = randomBytes(4).toString("hex");
const STREAM = `fngraph-restart-${RUN}`;
const SUBJECT = `fgrestart.${RUN}`;

let broker: ChildProcess | undefined;
let t: TestPlatform | undefined;
let collector: Collector | undefined;
let nc: NatsConnection | undefined;
const storeDir = mkdtempSync(path.join(os.tmpdir(), "fngraph-nats-"));

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function startBroker(port: number): Promise<ChildProcess> {
  const child = spawn(NATS, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir], {
    stdio: "ignore",
  });
  for (let i = 0; i < 100; i++) {
    try {
      const probe = await connect({ servers: `nats://127.0.0.1:${port}`, reconnect: false });
      await probe.close();
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill("SIGKILL");
  throw new Error("private nats-server did not start");
}

async function stopBroker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

afterAll(async () => {
  await t?.close();
  await nc?.close().catch(() => undefined);
  if (broker) await stopBroker(broker);
  await collector?.close();
  rmSync(storeDir, { recursive: true, force: true });
});

describe.skipIf(!existsSync(NATS))("DIS trigger across a restart of the broker", () => {
  it("keeps delivering after the NATS server goes down and comes back", async () => {
    const port = await freePort();
    const url = `nats://127.0.0.1:${port}`;
    broker = await startBroker(port);
    nc = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: STREAM, subjects: [`${SUBJECT}.>`] });
    collector = await startCollector();
    t = await startTestPlatform({ natsUrl: url });
    const api = triggersApi(t);
    await api.createReporter("dis-restart", collector, "r");
    await api.mustCreate(api.urn("dis-restart"), {
      trigger_type_code: "DIS",
      event_data: {
        stream_name: STREAM,
        sharditerator_type: "TRIM_HORIZON",
        polling_interval: 200,
        polling_unit: "ms",
        batch_size: 5,
        is_serial: "true",
      },
    });
    const received = (): string[] =>
      collector!.events
        .filter((e) => e.tag === "r")
        .flatMap((e) => (e.event["Message"] as { records: { data: string }[] }).records)
        .map((r) => Buffer.from(r.data, "base64").toString("utf8"));
    const publish = async (from: number, n: number): Promise<string[]> => {
      const sent: string[] = [];
      for (let i = from; i < from + n; i++) {
        // The test's own publisher may race the restarted broker's recovery: retry it.
        for (let attempt = 0; ; attempt++) {
          try {
            await nc!
              .jetstream()
              .publish(`${SUBJECT}.data`, Buffer.from(`m-${i}`), { timeout: 2000 });
            break;
          } catch (err) {
            if (attempt >= 10) throw err;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
        sent.push(`m-${i}`);
      }
      return sent;
    };

    const before = await publish(0, 3);
    await collector.waitFor(() => before.every((m) => received().includes(m)));

    await stopBroker(broker);
    broker = await startBroker(port); // same port and store: the stream and consumer survive
    const after = await publish(3, 3);
    await collector.waitFor(() => after.every((m) => received().includes(m)));
    expect(new Set(received())).toEqual(new Set([...before, ...after]));
  }, 120_000);
});
