import { availableParallelism } from "node:os";
import { FsError, isFsError } from "../core/errors.js";
import type { FunctionVersion, InvocationRecord } from "../core/types.js";
import { cpuMillicores, MAX_RESPONSE_BYTES, runtimeHeaders } from "./function-env.js";
import { createInstanceStarter } from "./instance-starter.js";
import { billingDuration, resultLog } from "./log-format.js";
import { AcquireCanceled, Pool, StartFailure, type Lease, type PoolStats } from "./pool.js";
import type { ReservedSetting } from "./reserved-instances.js";
import { createStartLimiter } from "./start-limiter.js";
import type { InvokeRequest, InvokeResult, InvokeTarget } from "./types.js";
import type { Invoker, InvokerOptions } from "./invoker-types.js";

/**
 * The environment variables of a version as its calls see them, merged once per version object
 * (the SQLite store hands out the same frozen object until the version changes).
 */
const userDataByVersion = new WeakMap<FunctionVersion, Readonly<Record<string, string>>>();
function userDataOf(v: FunctionVersion): Readonly<Record<string, string>> {
  let merged = userDataByVersion.get(v);
  if (!merged) {
    merged = Object.freeze({ ...v.userData, ...v.encryptedUserData });
    userDataByVersion.set(v, merged);
  }
  return merged;
}

/**
 * A stored record keeps up to this many characters of a call's output; a longer output is kept
 * as the last this many characters of the whole log.
 */
const MAX_RECORD_OUTPUT = 65536;

/** ISO text of an epoch ms; the last one is kept (calls of a burst share their millisecond). */
let lastIsoMs = Number.NaN;
let lastIso = "";
function isoTime(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIsoMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/** Contract §5: a sync call through the API runs at most 15 minutes. */
export const MAX_SYNC_TIMEOUT_S = 900;

export type { Invoker, InvokerOptions, InvokerStats, ProjectUsage } from "./invoker-types.js";

/** The invoker: pools per function version, instance lifecycle, limits (ARCHITECTURE §3). */
export function createInvoker(opts: InvokerOptions): Invoker {
  const pools = new Map<string, Pool>();
  /** Pools that take no new work but may still run calls; closed on shutdown. */
  const retiring = new Set<Pool>();
  const inflightByProject = new Map<string, number>();
  /** Project of each pool (live and retiring), for usage figures. */
  const projectOf = new Map<Pool, string>();
  /** Reserved settings per `${functionId}/${version}`: pools of newer revisions inherit them. */
  const reserved = new Map<string, ReservedSetting>();
  const limiter = opts.limiter ?? createStartLimiter(Math.max(4, 2 * availableParallelism()));
  const startInstance =
    opts.startInstance ??
    createInstanceStarter({
      sandbox: opts.sandbox,
      codeDir: opts.codeDir,
      mountRoots: opts.mountRoots ?? [],
      ...(opts.maxLogBytes ? { maxLogBytes: opts.maxLogBytes } : {}),
      ...(opts.prewarm ? { prewarm: opts.prewarm } : {}),
    });
  let closed = false;

  const poolKey = (t: InvokeTarget, memoryMb: number): string =>
    `${t.fn.id}/${t.version.version}/${t.version.revision}/${memoryMb}`;

  /**
   * The pool a version's calls went to last, by the version's object (the function service hands
   * out the same one while the store is unchanged): a warm call then builds no key string to hash.
   * Checked against what the key is made of and against `pools`, so a retired pool is never used.
   */
  const lastPool = new WeakMap<
    FunctionVersion,
    { fnId: string; version: string; revision: number; memoryMb: number; key: string; pool: Pool }
  >();

  const getPool = (t: InvokeTarget, memoryMb: number): Pool => {
    const last = lastPool.get(t.version);
    if (
      last &&
      last.fnId === t.fn.id &&
      last.version === t.version.version &&
      last.revision === t.version.revision &&
      last.memoryMb === memoryMb &&
      pools.get(last.key) === last.pool
    ) {
      return last.pool;
    }
    const key = poolKey(t, memoryMb);
    let pool = pools.get(key);
    if (pool) {
      const { version, revision } = t.version;
      lastPool.set(t.version, { fnId: t.fn.id, version, revision, memoryMb, key, pool });
      return pool;
    }
    // A newer revision of this version replaces older pools.
    const prefix = `${t.fn.id}/${t.version.version}/`;
    for (const [k, p] of pools) {
      if (k.startsWith(prefix) && !k.startsWith(`${prefix}${t.version.revision}/`))
        retirePool(k, p);
    }
    const runtime = opts.runtimes.get(t.fn.runtime);
    if (!runtime) throw new FsError("INVALID_RUNTIME", `runtime ${t.fn.runtime} is not available`);
    const log = opts.logger.child({ pool: key });
    pool = new Pool({
      key,
      maxInstances: t.version.strategy.concurrency,
      hardMaxInstances: opts.hardMaxInstances ?? 400,
      concurrentNum: Math.max(1, t.version.strategy.concurrentNum),
      keepAliveMs: opts.keepAliveMs,
      maxQueue: opts.maxQueue ?? 1000,
      queueTimeoutMs: opts.queueTimeoutMs ?? 60_000,
      clock: opts.clock,
      logger: log,
      limiter,
      start: () => startInstance(t, runtime, memoryMb, log),
    });
    pools.set(key, pool);
    projectOf.set(pool, t.fn.projectId);
    const setting = reserved.get(`${t.fn.id}/${t.version.version}`);
    if (setting && memoryMb === t.version.memorySize) pool.setReserved(setting);
    return pool;
  };

  const retirePool = (key: string, pool: Pool): void => {
    pool.retire();
    pools.delete(key);
    retiring.add(pool);
    void forget(pool);
  };

  /** Drop a retired pool from the books once its last call ended. */
  const forget = async (pool: Pool): Promise<void> => {
    await pool.drained();
    retiring.delete(pool);
    projectOf.delete(pool);
  };

  const invoke = async (req: InvokeRequest): Promise<InvokeResult> => {
    if (closed) throw new FsError("UNAVAILABLE", "platform shutting down");
    const { fn, version } = req.target;
    const memoryMb = req.memoryMb ?? version.memorySize;
    const project = fn.projectId;
    const used = inflightByProject.get(project) ?? 0;
    if (used >= opts.concurrencyQuota) {
      throw new FsError(
        "TOO_MANY_REQUESTS",
        `concurrent executions quota (${opts.concurrencyQuota}) reached`,
      );
    }
    inflightByProject.set(project, used + 1);
    const startedAt = opts.clock.now();
    try {
      const pool = getPool(req.target, memoryMb);
      const signal = waitSignal(req);
      let lease: Lease | undefined = pool.tryAcquire(signal);
      if (!lease) {
        try {
          lease = await pool.acquire(signal);
        } catch (err) {
          if (err instanceof StartFailure) return startFailureResult(req, err, memoryMb, startedAt);
          if (err instanceof AcquireCanceled) throw new FsError("UNAVAILABLE", err.message);
          throw err;
        }
      }
      try {
        return await run(req, lease, memoryMb, startedAt);
      } finally {
        pool.release(lease.slot);
      }
    } finally {
      const n = (inflightByProject.get(project) ?? 1) - 1;
      if (n <= 0) inflightByProject.delete(project);
      else inflightByProject.set(project, n);
    }
  };

  const run = async (
    req: InvokeRequest,
    lease: Lease,
    memoryMb: number,
    startedAt: number,
  ): Promise<InvokeResult> => {
    const { fn, version } = req.target;
    const instance = lease.slot.instance;
    const handlerStart = opts.clock.now();
    // Sync calls end at 900 s whatever the function's timeout; async ones run up to 259200 s.
    const timeoutSeconds =
      req.kind === "sync" ? Math.min(version.timeout, MAX_SYNC_TIMEOUT_S) : version.timeout;
    const outcome = await instance.invoke(
      req.event,
      {
        requestId: req.requestId,
        functionName: fn.name,
        version: version.version,
        alias: req.target.alias,
        package: fn.package,
        projectId: fn.projectId,
        memorySize: memoryMb,
        cpuMillicores: cpuMillicores(memoryMb),
        timeoutSeconds,
        deadline: handlerStart + timeoutSeconds * 1000,
        invokeType: req.kind,
        userData: userDataOf(version),
        accessKey: "",
        secretKey: "",
        securityToken: "",
        authToken: "",
        headers: runtimeHeaders(req.headers),
      },
      { timeoutMs: timeoutSeconds * 1000, ...(req.signal ? { signal: req.signal } : {}) },
    );
    let ok = outcome.ok;
    let body: string;
    let errorCode = 0;
    let isFuncErr = false;
    let error = outcome.ok ? undefined : outcome.error;
    if (outcome.ok) {
      body = outcome.result;
      if (Buffer.byteLength(body) > MAX_RESPONSE_BYTES) {
        ok = false;
        errorCode = 4004;
        isFuncErr = true;
        error = {
          errorMessage: "response body size exceeds the limit of 6291456 bytes",
          errorType: "ResponseTooLarge",
        };
        body = JSON.stringify(error);
      }
    } else {
      errorCode = outcome.errorCode;
      isFuncErr = outcome.isFuncErr;
      body = JSON.stringify(outcome.error);
    }
    const durationMs = outcome.durationMs;
    const billingMs = billingDuration(durationMs);
    const memoryUsedMb = outcome.maxRssKb / 1024;
    const end = opts.clock.now();
    const output = lease.cold ? instance.startLog + outcome.log : outcome.log;
    const a = lease.anatomy;
    const timings = {
      queue: lease.queueMs,
      placement: a?.placementMs ?? 0,
      sandbox: a?.sandboxMs ?? 0,
      boot: a?.bootMs ?? 0,
      load: a?.loadMs ?? 0,
      initializer: a?.initializerMs ?? 0,
      handler: end - handlerStart,
      prewarmed: a?.prewarmed ? 1 : 0,
    };
    const result: InvokeResult = {
      requestId: req.requestId,
      ok,
      body,
      errorCode,
      isFuncErr,
      ...(error ? { error } : {}),
      output,
      logFrame: { startMs: handlerStart, endMs: end, memorySize: memoryMb },
      durationMs,
      billingMs,
      memorySize: memoryMb,
      memoryUsedMb,
      coldStart: lease.cold,
      instanceId: instance.id,
      version: version.version,
      timings,
    };
    saveRecord(req, result, startedAt);
    return result;
  };

  const startFailureResult = (
    req: InvokeRequest,
    err: StartFailure,
    memoryMb: number,
    startedAt: number,
  ): InvokeResult => {
    const now = opts.clock.now();
    const durationMs = now - startedAt;
    const billingMs = billingDuration(durationMs);
    const result: InvokeResult = {
      requestId: req.requestId,
      ok: false,
      body: JSON.stringify(err.payload),
      errorCode: err.errorCode,
      isFuncErr: true,
      error: err.payload,
      output: err.log,
      logFrame: { startMs: startedAt, endMs: now, memorySize: memoryMb },
      durationMs,
      billingMs,
      memorySize: memoryMb,
      memoryUsedMb: 0,
      coldStart: true,
      instanceId: "",
      version: req.target.version.version,
      timings: {
        queue: 0,
        placement: 0,
        sandbox: 0,
        boot: 0,
        load: durationMs,
        initializer: 0,
        handler: 0,
        prewarmed: 0,
      },
    };
    saveRecord(req, result, startedAt);
    return result;
  };

  const saveRecord = (req: InvokeRequest, r: InvokeResult, startedAt: number): void => {
    const rec: InvocationRecord = {
      requestId: r.requestId,
      functionId: req.target.fn.id,
      version: r.version,
      alias: req.target.alias,
      kind: req.kind,
      instanceId: r.instanceId,
      status: r.ok ? "success" : "error",
      errorCode: r.errorCode,
      startedAt: isoTime(startedAt),
      durationMs: r.durationMs,
      billingMs: r.billingMs,
      memoryUsedMb: r.memoryUsedMb,
      coldStart: r.coldStart,
      timings: { ...r.timings },
      log: r.output,
      logFrame: r.logFrame,
    };
    if (r.output.length > MAX_RECORD_OUTPUT) {
      // Kept whole, the Start line and the output's beginning cut off: its last 64 K characters.
      rec.log = resultLog(r).slice(-MAX_RECORD_OUTPUT);
      delete rec.logFrame;
    }
    // `record` only queues (the batcher writes later): no need to defer the call itself.
    try {
      opts.record(rec);
    } catch (err) {
      opts.logger.warn({ err, requestId: r.requestId }, "cannot store invocation record");
    }
  };

  return {
    // A rejection handler rather than an async wrapper: one promise less per call.
    invoke: (req) =>
      invoke(req).catch((err: unknown) => {
        if (isFsError(err)) throw err;
        opts.logger.error({ err, requestId: req.requestId }, "invocation failed in the platform");
        throw new FsError("INTERNAL", "internal error while invoking the function", { cause: err });
      }),
    retire: (functionId, version) => {
      const prefix = version ? `${functionId}/${version}/` : `${functionId}/`;
      for (const [k, p] of [...pools]) if (k.startsWith(prefix)) retirePool(k, p);
    },
    setReserved: (target, count, more) => {
      const id = `${target.fn.id}/${target.version.version}`;
      const setting: ReservedSetting = {
        count,
        idleMode: more?.idleMode ?? false,
        metrics: more?.metrics ?? [],
      };
      const keep = count > 0 || setting.metrics.length > 0;
      if (keep) reserved.set(id, setting);
      else reserved.delete(id);
      if (closed) return;
      if (count > 0) getPool(target, target.version.memorySize).setReserved(setting);
      else {
        // No instance to start now: existing pools take the setting, a new one inherits it.
        const size = `/${target.version.memorySize}`;
        for (const [k, p] of pools) {
          if (!k.startsWith(`${id}/`)) continue;
          if (keep && k.endsWith(size)) p.setReserved(setting);
          else p.setReserved({ count: 0, idleMode: false, metrics: [] });
        }
      }
    },
    stats: () => {
      const sum: PoolStats = { instances: 0, starting: 0, inflight: 0, queued: 0, reserved: 0 };
      for (const p of [...pools.values(), ...retiring]) {
        const s = p.stats();
        sum.instances += s.instances;
        sum.starting += s.starting;
        sum.inflight += s.inflight;
        sum.queued += s.queued;
        sum.reserved += s.reserved;
      }
      return {
        pools: pools.size,
        ...sum,
        ...(opts.prewarm ? { prewarm: opts.prewarm.stats() } : {}),
      };
    },
    usage: (projectId) => {
      let instances = 0;
      let reservedCount = 0;
      for (const [p, project] of projectOf) {
        if (project !== projectId) continue;
        const s = p.stats();
        instances += s.instances;
        reservedCount += s.reserved;
      }
      return {
        concurrency: inflightByProject.get(projectId) ?? 0,
        instances,
        reserved: reservedCount,
      };
    },
    concurrencyQuota: opts.concurrencyQuota,
    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.all([...pools.values(), ...retiring].map((p) => p.close()));
      pools.clear();
      retiring.clear();
      projectOf.clear();
      await opts.prewarm?.close();
    },
  };
}

/** What takes a call out of the queue: a stop, or its caller leaving. */
function waitSignal(req: InvokeRequest): AbortSignal | undefined {
  const { signal, callerGone } = req;
  return signal && callerGone ? AbortSignal.any([signal, callerGone]) : (signal ?? callerGone);
}
