import { randomUUID } from "node:crypto";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDispatcher, type Dispatcher } from "../../src/async/dispatcher.js";
import type { ResolvedTarget } from "../../src/async/types.js";
import { FsError } from "../../src/core/errors.js";
import type { InvokeRequest, InvokeResult } from "../../src/invoker/types.js";
import type { AsyncPolicy, AsyncStore, NewAsyncInvocation } from "../../src/store/async.js";
import {
  createFakeClock,
  fakeFunction,
  openSqliteStores,
  settle,
  type FakeClock,
} from "./helpers.js";

const PROJECT = "p".repeat(32);
const urnOf = (name: string) => `urn:fss:r:${PROJECT}:function:default:${name}:latest`;

function result(req: InvokeRequest, ok: boolean, errorCode = 0, body = '"ok"'): InvokeResult {
  return {
    requestId: req.requestId,
    ok,
    body,
    errorCode,
    isFuncErr: !ok && errorCode !== 4208,
    ...(ok ? {} : { error: { errorMessage: `error ${errorCode}`, errorType: "Error" } }),
    output: "",
    logFrame: { startMs: 0, endMs: 1, memorySize: 128 },
    durationMs: 1,
    billingMs: 1,
    memorySize: 128,
    memoryUsedMb: 1,
    coldStart: false,
    instanceId: "i",
    version: "latest",
    timings: { queue: 0, sandbox: 0, boot: 0, load: 0, handler: 1 },
  };
}

let clock: FakeClock;
let stores: ReturnType<typeof openSqliteStores>;
let q: AsyncStore;
let d: Dispatcher | undefined;
let calls: InvokeRequest[];
let behave: (req: InvokeRequest, n: number) => Promise<InvokeResult>;

const targets = new Map<string, ResolvedTarget>();
for (const name of ["f", "dest"]) {
  const { fn, version } = fakeFunction(`id-${name}`, name);
  targets.set(urnOf(name), {
    fn,
    version,
    alias: "",
    ref: { region: "r", projectId: PROJECT, package: "default", name },
  });
}

function start(): Dispatcher {
  d = createDispatcher({
    store: q,
    clock,
    logger: pino({ level: "silent" }),
    exclusive: true,
    retryBaseMs: 1000,
    retryMaxMs: 8000,
    busyRetryMs: 500,
    leaseMs: 30_000,
    pollMs: 60_000,
    resolve: async (_p, urn) => {
      const t = targets.get(urn);
      if (!t) throw new FsError("FUNCTION_NOT_FOUND");
      return t;
    },
    invoker: {
      invoke: async (req) => {
        calls.push(req);
        return behave(req, calls.filter((c) => c.requestId === req.requestId).length);
      },
    },
  });
  return d;
}

async function submit(policy: Partial<AsyncPolicy> = {}, event = '{"k":1}'): Promise<string> {
  const row: NewAsyncInvocation = {
    requestId: randomUUID(),
    projectId: PROJECT,
    functionId: "id-f",
    funcUrn: urnOf("f"),
    qualifier: "latest",
    event,
    headers: {},
    policy: { maxRetries: 1, maxAgeSeconds: 3600, ...policy },
    createdAt: clock.now(),
  };
  await q.enqueue([row]);
  d?.notify();
  await settle();
  return row.requestId;
}

beforeEach(() => {
  clock = createFakeClock();
  stores = openSqliteStores();
  q = stores.queue;
  calls = [];
  behave = async (req) => result(req, true);
});
afterEach(async () => {
  await d?.close();
  d = undefined;
  await stores.close();
});

describe("async dispatcher", () => {
  it("runs a queued request through the invoker as an async call", async () => {
    await start().start();
    const id = await submit({}, '{"hello":"world"}');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ requestId: id, kind: "async", event: '{"hello":"world"}' });
    expect(await q.get(id)).toMatchObject({
      status: "SUCCESS",
      attempts: 1,
      errorCode: 0,
      version: "latest",
      startedAt: clock.now(),
      endedAt: clock.now(),
    });
  });

  it("retries function errors with exponential backoff, then succeeds", async () => {
    behave = async (req, n) => (n <= 2 ? result(req, false, 4002) : result(req, true));
    await start().start();
    const id = await submit({ maxRetries: 3 });
    expect(await q.get(id)).toMatchObject({
      status: "WAIT",
      attempts: 1,
      failures: 1,
      errorCode: 4002,
      notBefore: clock.now() + 1000,
    });
    await clock.advance(999);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);
    expect(await q.get(id)).toMatchObject({
      status: "WAIT",
      failures: 2,
      notBefore: clock.now() + 2000,
    });
    await clock.advance(2000);
    expect(await q.get(id)).toMatchObject({
      status: "SUCCESS",
      attempts: 3,
      failures: 2,
      errorCode: 0,
    });
  });

  it("retries system errors too; exhausted retries FAIL and notify the on_failure function", async () => {
    behave = async () => {
      throw new FsError("INTERNAL", "sandbox broke");
    };
    await start().start();
    const id = await submit(
      {
        maxRetries: 1,
        onFailure: {
          destination: "FunctionGraph",
          param: JSON.stringify({ func_urn: urnOf("dest") }),
        },
      },
      '{"n":7}',
    );
    await clock.advance(1000);
    const row = await q.get(id);
    expect(row).toMatchObject({
      status: "FAIL",
      attempts: 2,
      errorCode: 500,
      errorMessage: "sandbox broke",
    });
    const destId = /^QUEUED (\S+)$/.exec(row!.destinationStatus)?.[1];
    expect(destId).toBeDefined();
    // The notification went through the queue and the invoker to the destination function.
    const destCall = calls.find((c) => c.requestId === destId);
    expect(destCall?.target.fn.name).toBe("dest");
    const payload = JSON.parse(destCall!.event) as Record<string, unknown>;
    expect(payload).toMatchObject({
      request_context: {
        request_id: id,
        function_urn: urnOf("f"),
        condition: "RetriesExhausted",
        approximate_invoke_count: 2,
      },
      request_payload: '{"n":7}',
      response_context: { status_code: 500, function_error: "" },
    });
    expect(typeof payload["timestamp"]).toBe("string");
  });

  it("treats a saturated invoker (429) as try-later and discards the event once too old", async () => {
    behave = async () => {
      throw new FsError("TOO_MANY_REQUESTS");
    };
    await start().start();
    const id = await submit({ maxAgeSeconds: 2, maxRetries: 0 });
    expect(await q.get(id)).toMatchObject({ status: "WAIT", attempts: 0, failures: 0 });
    await clock.advance(1500);
    expect(calls.length).toBe(4);
    expect(await q.get(id)).toMatchObject({ status: "WAIT", attempts: 0, failures: 0 });
    await clock.advance(1000);
    // Tried at 0, 0.5, 1, 1.5 and 2 s, never admitted; at 2.5 s the event is older than 2 s.
    expect(calls.length).toBe(5);
    expect(await q.get(id)).toMatchObject({ status: "DISCARD", attempts: 0, failures: 0 });
  });

  it("discards by event age on a fake clock without invoking", async () => {
    const id = await submit({ maxAgeSeconds: 60 });
    await clock.advance(61_000);
    await start().start();
    await settle();
    expect(calls).toHaveLength(0);
    expect(await q.get(id)).toMatchObject({ status: "DISCARD", attempts: 0, endedAt: clock.now() });
    expect((await q.get(id))!.errorMessage).toMatch(/max_async_event_age_in_seconds/);
  });

  it("discards instead of scheduling a retry past the event age", async () => {
    behave = async (req) => result(req, false, 4002);
    await start().start();
    const id = await submit({ maxAgeSeconds: 5, maxRetries: 8 });
    await clock.advance(1000 + 2000);
    expect(calls).toHaveLength(3);
    // The next retry would be at +7 s > 5 s: discarded now.
    expect(await q.get(id)).toMatchObject({ status: "DISCARD", attempts: 3, errorCode: 4002 });
  });

  it("cancels a running call through its AbortSignal (4208, not retried)", async () => {
    behave = (req) =>
      new Promise((resolve) => {
        req.signal?.addEventListener("abort", () => resolve(result(req, false, 4208)));
      });
    const disp = start();
    await disp.start();
    const id = await submit({ maxRetries: 3 });
    expect(await q.get(id)).toMatchObject({ status: "RUNNING" });
    expect(await q.cancel(id, clock.now(), 4208, "function invocation canceled")).toBe("RUNNING");
    expect(disp.cancelLocal(id)).toBe(true);
    await settle();
    expect(await q.get(id)).toMatchObject({ status: "FAIL", errorCode: 4208, attempts: 1 });
    expect(calls).toHaveLength(1);
  });

  it("sees a cancellation requested elsewhere when it renews its leases", async () => {
    behave = (req) =>
      new Promise((resolve) => {
        req.signal?.addEventListener("abort", () => resolve(result(req, false, 4208)));
      });
    await start().start();
    const id = await submit();
    await q.cancel(id, clock.now(), 4208, "function invocation canceled");
    await clock.advance(10_000);
    expect(await q.get(id)).toMatchObject({ status: "FAIL", errorCode: 4208 });
  });

  it("runs again what a crashed platform left RUNNING, and what a closed one handed back", async () => {
    const id = await submit();
    // A previous process claimed it and died.
    expect(await q.claim("dead-process", clock.now(), 30_000, 10)).toHaveLength(1);
    await start().start();
    await settle();
    expect(await q.get(id)).toMatchObject({ status: "SUCCESS", attempts: 2 });

    let release: (() => void) | undefined;
    behave = (req) => new Promise((resolve) => (release = () => resolve(result(req, true))));
    const id2 = await submit();
    expect(await q.get(id2)).toMatchObject({ status: "RUNNING" });
    await d!.close();
    expect(await q.get(id2)).toMatchObject({ status: "WAIT" });
    release?.();
    await settle();
    expect(await q.get(id2)).toMatchObject({ status: "WAIT" });
  });

  it("records OBS/SMN/DIS destinations as not deliverable", async () => {
    await start().start();
    const id = await submit({ onSuccess: { destination: "SMN", param: '{"topic_urn":"t"}' } });
    expect((await q.get(id))!.destinationStatus).toMatch(/^NOT_DELIVERABLE SMN/);
  });
});
