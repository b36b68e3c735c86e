import { randomUUID } from "node:crypto";
import type { Clock, TimerHandle } from "../core/clock.js";
import { isFsError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type { Invoker } from "../invoker/invoker.js";
import type { AsyncFinish, AsyncInvocation, AsyncStatus, AsyncStore } from "../store/async.js";
import { toNotification, type Outcome } from "./notification.js";
import { prepareInvocation } from "./prepare.js";
import type { Resolver } from "./types.js";

export interface DispatcherOptions {
  store: AsyncStore;
  invoker: Pick<Invoker, "invoke">;
  resolve: Resolver;
  clock: Clock;
  logger: Logger;
  /** This process is the queue's only user (SQLite): requeue every RUNNING request at start. */
  exclusive: boolean;
  /** Calls in flight at once; each function's own limits still apply inside the invoker. */
  maxInflight?: number;
  /** Lease on a RUNNING request; renewed every third of it while the call runs. */
  leaseMs?: number;
  /** Longest sleep between looks at the queue (other nodes, due retries). */
  pollMs?: number;
  /** First retry delay; doubles per failed attempt up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Delay before trying again when the invoker is saturated (429). */
  busyRetryMs?: number;
}

export interface Dispatcher {
  start(): Promise<void>;
  /** New work was committed: look at the queue soon. */
  notify(): void;
  /** Abort a call this process runs; false when it does not run it. */
  cancelLocal(requestId: string): boolean;
  stats(): { inflight: number };
  close(): Promise<void>;
}

interface Running {
  abort: AbortController;
  canceled: boolean;
}

const CANCELED = { errorCode: 4208, errorMessage: "function invocation canceled" };

/**
 * Hands queued async requests to the invoker (ARCHITECTURE §3): leases due requests, renews the
 * leases while the calls run, retries failures with exponential backoff within the request's
 * retry budget and event age, and records the outcome with the destination notification in one
 * transaction.
 */
export function createDispatcher(opts: DispatcherOptions): Dispatcher {
  const { store, clock, logger } = opts;
  const owner = randomUUID();
  const maxInflight = opts.maxInflight ?? 64;
  const leaseMs = opts.leaseMs ?? 30_000;
  const pollMs = opts.pollMs ?? 1_000;
  const retryBaseMs = opts.retryBaseMs ?? 1_000;
  const retryMaxMs = opts.retryMaxMs ?? 60_000;
  const busyRetryMs = opts.busyRetryMs ?? 100;
  const inflight = new Map<string, Running>();
  let closed = false;
  let started = false;
  let pumping = false;
  let again = false;
  let wakeQueued = false;
  let wakeTimer: TimerHandle | undefined;
  let renewTimer: TimerHandle | undefined;
  let pumpDone: Promise<void> = Promise.resolve();

  const backoff = (failures: number): number =>
    Math.min(retryMaxMs, retryBaseMs * 2 ** Math.max(0, failures - 1));

  const systemError = (err: unknown): Outcome & { errorCode: number; errorMessage: string } => {
    if (isFsError(err)) {
      return {
        errorCode: Number(err.fss.slice(4)),
        errorMessage: err.message,
        statusCode: err.status,
        functionError: "",
        responsePayload: JSON.stringify(err.toBody()),
        condition: "RetriesExhausted",
      };
    }
    return {
      errorCode: 500,
      errorMessage: "internal error",
      statusCode: 500,
      functionError: "",
      responsePayload: "",
      condition: "RetriesExhausted",
    };
  };

  /** A final status with its destination notification. */
  const final = async (
    row: AsyncInvocation,
    status: Extract<AsyncStatus, "SUCCESS" | "FAIL" | "DISCARD">,
    f: {
      errorCode: number;
      errorMessage: string;
      version: string;
      uncount?: boolean;
      /** The attempt failed (counted against the retry budget). */
      failed?: boolean;
    },
    outcome: Outcome | undefined,
  ): Promise<AsyncFinish> => {
    const base: AsyncFinish = {
      requestId: row.requestId,
      owner,
      status,
      errorCode: f.errorCode,
      errorMessage: f.errorMessage,
      version: f.version,
      failed: f.failed ?? false,
      ...(f.uncount ? { uncount: true } : {}),
    };
    const d = status === "SUCCESS" ? row.policy.onSuccess : row.policy.onFailure;
    if (!d || !outcome) return base;
    if (d.destination !== "FunctionGraph") {
      return {
        ...base,
        destinationStatus: `NOT_DELIVERABLE ${d.destination} destinations are not supported by this installation`,
      };
    }
    try {
      const { func_urn: urn } = JSON.parse(d.param) as { func_urn: string };
      const target = await opts.resolve(row.projectId, urn);
      const attempts = row.attempts - (f.uncount ? 1 : 0);
      const now = clock.now();
      const followUp = await prepareInvocation(store, target, {
        event: JSON.stringify(toNotification(row, attempts, outcome, now)),
        headers: {},
        now,
      });
      return { ...base, destinationStatus: `QUEUED ${followUp.requestId}`, followUp };
    } catch (err) {
      return {
        ...base,
        destinationStatus: `FAILED ${isFsError(err) ? err.message : "internal error"}`,
      };
    }
  };

  /** A failed attempt: retry within the budget and the event age, else FAIL. */
  const failure = async (
    row: AsyncInvocation,
    e: Outcome & { errorCode: number; errorMessage: string },
    version: string,
  ): Promise<AsyncFinish> => {
    const now = clock.now();
    const failures = row.failures + 1;
    if (failures <= row.policy.maxRetries) {
      const notBefore = now + backoff(failures);
      if (notBefore > row.createdAt + row.policy.maxAgeSeconds * 1000) {
        return final(
          row,
          "DISCARD",
          { ...e, version, failed: true },
          { ...e, condition: "EventAgeExceeded" },
        );
      }
      return {
        requestId: row.requestId,
        owner,
        status: "WAIT",
        errorCode: e.errorCode,
        errorMessage: e.errorMessage,
        version,
        notBefore,
        failed: true,
      };
    }
    return final(row, "FAIL", { ...e, version, failed: true }, e);
  };

  const attempt = async (row: AsyncInvocation, me: Running): Promise<AsyncFinish> => {
    if (me.canceled)
      return final(row, "FAIL", { ...CANCELED, version: row.version, uncount: true }, undefined);
    const now = clock.now();
    if (now > row.createdAt + row.policy.maxAgeSeconds * 1000) {
      const e = {
        errorCode: row.errorCode,
        errorMessage: `event older than max_async_event_age_in_seconds (${row.policy.maxAgeSeconds})`,
      };
      return final(
        row,
        "DISCARD",
        { ...e, version: row.version, uncount: true },
        {
          statusCode: row.errorCode === 0 ? 200 : 500,
          functionError: "",
          responsePayload: "",
          condition: "EventAgeExceeded",
        },
      );
    }
    let target;
    try {
      target = await opts.resolve(row.projectId, row.funcUrn, { headers: row.headers });
    } catch (err) {
      return failure(row, systemError(err), row.version);
    }
    const version = target.version.version;
    try {
      const r = await opts.invoker.invoke({
        target: { fn: target.fn, version: target.version, alias: target.alias },
        event: row.event,
        requestId: row.requestId,
        kind: "async",
        headers: row.headers,
        ...(row.memoryMb ? { memoryMb: row.memoryMb } : {}),
        signal: me.abort.signal,
      });
      if (r.ok) {
        return final(
          row,
          "SUCCESS",
          { errorCode: 0, errorMessage: "", version },
          {
            statusCode: 200,
            functionError: "",
            responsePayload: r.body,
            condition: "",
          },
        );
      }
      if (me.canceled) return final(row, "FAIL", { ...CANCELED, version }, undefined);
      const message = r.error?.errorMessage ?? "function invocation failed";
      return failure(
        row,
        {
          errorCode: r.errorCode,
          errorMessage: message,
          statusCode: r.isFuncErr ? 200 : 500,
          functionError: r.isFuncErr ? message : "",
          responsePayload: r.body,
          condition: "RetriesExhausted",
        },
        version,
      );
    } catch (err) {
      if (isFsError(err) && (err.status === 429 || err.code === "UNAVAILABLE")) {
        // The invoker is full (or shutting down): not the request's fault, try again soon.
        return {
          requestId: row.requestId,
          owner,
          status: "WAIT",
          errorCode: row.errorCode,
          errorMessage: row.errorMessage,
          version: row.version,
          notBefore: clock.now() + busyRetryMs,
          failed: false,
          uncount: true,
        };
      }
      return failure(row, systemError(err), version);
    }
  };

  const run = async (row: AsyncInvocation): Promise<void> => {
    const me: Running = { abort: new AbortController(), canceled: row.cancelRequested };
    inflight.set(row.requestId, me);
    const log = logger.child({ requestId: row.requestId, funcUrn: row.funcUrn });
    try {
      const f = await attempt(row, me);
      if (closed) return;
      if (!(await store.finish(f, clock.now())))
        log.warn("lease lost; another dispatcher owns the request");
      else log.debug({ status: f.status, attempts: row.attempts }, "async attempt finished");
    } catch (err) {
      log.error(
        { err },
        "async attempt failed in the platform; the lease will expire and it runs again",
      );
    } finally {
      inflight.delete(row.requestId);
      notify();
    }
  };

  const scheduleWake = async (): Promise<void> => {
    if (closed) return;
    const now = clock.now();
    let delay = pollMs;
    if (inflight.size < maxInflight) {
      const due = await store.nextDue();
      if (due !== undefined && due > now) delay = Math.min(pollMs, due - now);
    }
    if (closed) return;
    if (wakeTimer) clock.clearTimeout(wakeTimer);
    wakeTimer = clock.setTimeout(() => {
      wakeTimer = undefined;
      notify();
    }, delay);
    wakeTimer.unref?.();
  };

  const pump = async (): Promise<void> => {
    if (closed) return;
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      for (;;) {
        again = false;
        const want = Math.min(maxInflight - inflight.size, 64);
        if (want <= 0 || closed) break;
        const rows = await store.claim(owner, clock.now(), leaseMs, want);
        if (closed) break;
        for (const r of rows) void run(r);
        if (rows.length < want && !again) break;
      }
      await scheduleWake();
    } catch (err) {
      logger.error({ err }, "async dispatcher cannot read the queue; trying again");
      if (!closed) {
        if (wakeTimer) clock.clearTimeout(wakeTimer);
        wakeTimer = clock.setTimeout(() => notify(), pollMs);
      }
    } finally {
      pumping = false;
    }
  };

  function notify(): void {
    if (closed || !started || wakeQueued) return;
    wakeQueued = true;
    setImmediate(() => {
      wakeQueued = false;
      pumpDone = pump();
    });
  }

  const renew = async (): Promise<void> => {
    renewTimer = undefined;
    if (closed) return;
    try {
      const ids = [...inflight.keys()];
      if (ids.length > 0) {
        const canceled = await store.renew(owner, ids, clock.now() + leaseMs);
        for (const id of canceled) cancelLocal(id);
      }
    } catch (err) {
      logger.warn({ err }, "cannot renew async leases");
    }
    if (!closed) renewTimer = clock.setTimeout(() => void renew(), Math.max(1, leaseMs / 3));
  };

  function cancelLocal(id: string): boolean {
    const r = inflight.get(id);
    if (!r) return false;
    r.canceled = true;
    r.abort.abort();
    return true;
  }

  return {
    start: async () => {
      if (started) return;
      started = true;
      if (opts.exclusive) {
        const n = await store.requeueRunning(clock.now());
        if (n > 0) logger.info({ requeued: n }, "async requests cut short by a stop run again");
      }
      renewTimer = clock.setTimeout(() => void renew(), Math.max(1, leaseMs / 3));
      pumpDone = pump();
      await pumpDone;
    },
    notify,
    cancelLocal,
    stats: () => ({ inflight: inflight.size }),
    close: async () => {
      if (closed) return;
      closed = true;
      if (wakeTimer) clock.clearTimeout(wakeTimer);
      if (renewTimer) clock.clearTimeout(renewTimer);
      await pumpDone.catch(() => undefined);
      if (!started) return;
      // Calls still running are left to the invoker's shutdown; their requests run again.
      const n = await store.requeueRunning(clock.now(), owner);
      if (n > 0)
        logger.info(
          { requeued: n },
          "async requests in flight at shutdown run again after restart",
        );
    },
  };
}
