import { performance } from "node:perf_hooks";
import { systemClock, type TimerHandle } from "../core/clock.js";
import type { SandboxExit, SandboxProcess, SandboxSpec } from "../sandbox/types.js";
import type {
  Instance,
  InstanceOptions,
  LaunchedRuntime,
  LaunchOptions,
  StartTimings,
} from "./instance-types.js";
import { createCallTable } from "./instance-calls.js";
import { openChannel } from "./instance-channel.js";
import type { ResultMessage } from "./messages.js";
import { createStartPhases } from "./instance-phases.js";
import { DEFAULT_MAX_LOG_BYTES, LogCapture, OutputRouter } from "./log-capture.js";
import {
  CANCELED,
  INITIALIZER_TIMEOUT,
  NOT_RUNNING,
  OOM_PATTERN,
  describeExit,
  launchFailure,
  loadExitFailure,
  memoryFailure,
  protocolFailure,
  startFailure,
  type KillReason,
} from "./outcomes.js";
import { InstanceStartError } from "./start-error.js";
import type { LoadSpec } from "./types.js";

export type {
  Instance,
  InstanceOptions,
  InvokeOptions,
  LaunchedRuntime,
  LaunchOptions,
  StartTimings,
} from "./instance-types.js";
export { InstanceStartError, isInstanceStartError } from "./start-error.js";

const DEFAULT_START_TIMEOUT_MS = 30_000;
const CLOSE_GRACE_MS = 2000;
/** Longest a loaded runtime keeps the launch CPU share without a call. */
const LIMITS_DELAY_MS = 1000;

/**
 * Launch the runtime in the sandbox with its `load` already sent, wait for `ready`, then for
 * `loaded`. Throws InstanceStartError (after killing the process) when any step fails.
 */
export async function createInstance(opts: InstanceOptions): Promise<Instance> {
  const runtime = await launchRuntime({ ...opts, loadNow: opts.load });
  return runtime.load(opts.load);
}

/**
 * Launch the runtime in the sandbox and wait for `ready`, loading nothing yet: a prewarmed
 * runtime, specialised later with `load` (sandbox notes §11.6). Throws InstanceStartError.
 */
export async function launchRuntime(opts: LaunchOptions): Promise<LaunchedRuntime> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger.child({ instanceId: opts.id });
  const maxLogBytes = opts.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES;
  const startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const { sandbox, runtime } = opts;

  const paths = sandbox.paths({ id: opts.id, codeDir: opts.codeDir, runtimeDir: runtime.shimDir });
  const spec: SandboxSpec = {
    id: opts.id,
    codeDir: opts.codeDir,
    runtimeDir: runtime.shimDir,
    argv: runtime.command(paths, { memoryMb: opts.memoryMb }),
    env: runtime.baseEnv(paths),
    memoryMb: opts.memoryMb,
    cpuMillicores: opts.cpuMillicores,
    tmpMb: opts.tmpMb,
    // Runtimes whose code listens on fixed ports (http: 8000) get a network namespace each.
    network: runtime.ownNetwork && opts.network === "full" ? "private" : opts.network,
    mounts: opts.mounts,
    ...(opts.user ? { user: opts.user } : {}),
  };

  const t0 = performance.now();
  let proc: SandboxProcess;
  try {
    proc = await sandbox.launch(spec);
  } catch (err) {
    logger.error({ err }, "sandbox launch failed");
    throw new InstanceStartError(launchFailure(err), "");
  }
  const t1 = performance.now();

  // ---- shared state -----------------------------------------------------------------------
  const exitCallbacks: (() => void)[] = [];
  let exitInfo: SandboxExit | undefined;
  let killReason: KillReason | undefined;
  let stopping = false;
  /** What the `loaded` message said the initializer took. */
  let initializerMs = 0;
  /** The shim answered `warm`. */
  let warmed = false;
  let closing: Promise<void> | undefined;
  let exitDone = false;
  let markExitDone = () => {};
  /** Resolves once the exit was fully handled: pending calls resolved, onExit callbacks run. */
  const exitHandled = new Promise<void>((r) => (markExitDone = r));
  const output = new OutputRouter((stream, chunk) =>
    logger.debug({ stream, output: chunk.toString("utf8", 0, 2048) }, "idle runtime output"),
  );
  const isOom = () => proc.oomKilled() || OOM_PATTERN.test(output.stderrTail);

  let startCapture = new LogCapture(maxLogBytes);
  /** createInstance loads right away: the boot output stays part of the start log. */
  const freshCapture = opts.loadNow !== undefined;
  output.attach(startCapture);
  proc.stdout.on("data", (chunk: Buffer) => output.write("stdout", chunk));
  proc.stderr.on("data", (chunk: Buffer) => output.write("stderr", chunk));
  proc.stdout.on("error", () => {});
  proc.stderr.on("error", () => {});
  proc.channel.on("error", (err) => logger.debug({ err }, "channel error"));

  const kill = (reason: KillReason): void => {
    killReason ??= reason;
    stopping = true;
    void proc.kill();
  };

  const protocolError = (err: unknown): void => {
    logger.error({ err }, "instance protocol violation; killing the runtime");
    kill(protocolFailure(err));
  };

  /** The function's CPU share waits for the end of the first call (or this timer). */
  let limitsTimer: TimerHandle | undefined;
  const applyPendingLimits = (): void => {
    if (!limitsTimer) return;
    clock.clearTimeout(limitsTimer);
    limitsTimer = undefined;
    proc.applyRuntimeLimits();
  };

  // The runtime writes its output before the message, but that output may still sit in the
  // stdout/stderr pipes: let this poll phase read it first. The results of one poll phase (a
  // burst of calls) wait for one immediate together; any other message has its own, so that
  // what a start phase does on one (`ready`) is done before the next (`loaded`) arrives.
  let results: ResultMessage[] = [];
  const deliverResults = (): void => {
    const batch = results;
    results = [];
    for (const msg of batch) calls.onResult(msg);
  };
  const send = openChannel(
    proc,
    (msg) => {
      if (msg.type === "result") {
        if (results.push(msg) === 1) setImmediate(deliverResults);
        return;
      }
      setImmediate(() => {
        if (msg.type === "warmed") warmed = true;
        else if (!phases.message(msg))
          logger.warn({ type: msg.type }, "unexpected runtime message");
      });
    },
    protocolError,
  );
  const phases = createStartPhases({
    clock,
    startLog: () => startCapture.text(),
    isOom,
    exited: () => exitInfo,
  });

  const calls = createCallTable({
    proc,
    output,
    clock,
    memoryMb: opts.memoryMb,
    maxLogBytes,
    send,
    kill,
    onCallEnd: applyPendingLimits,
  });

  void proc.exited.then((exit) => {
    exitInfo = exit;
    stopping = true;
    // Let output still queued in the pipes reach its capture before the outcomes are built.
    setImmediate(() => {
      const oom = isOom();
      phases.exit(exit);
      calls.failAll(exit, killReason, oom);
      if (!killReason) logger.debug({ ...exit }, "runtime exited");
      exitDone = true;
      for (const cb of exitCallbacks.splice(0)) cb();
      markExitDone();
    });
  });

  const loadMessage = (spec: LoadSpec) => ({
    type: "load" as const,
    handler: spec.handler,
    initializer: spec.initializer,
    initializerTimeoutMs: spec.initializerTimeoutMs,
    // The sandbox's own per-call peak (cgroup) makes the runtime's getrusage figure redundant.
    measureRss: proc.peakMemoryBytes() === undefined,
    // The code root is where this sandbox shows the code, whatever the caller assumed.
    env: { ...spec.env, RUNTIME_CODE_ROOT: paths.codeRoot, RUNTIME_ROOT: paths.runtimeRoot },
  });
  const waitLoaded = (spec: LoadSpec) => {
    const hasInit = spec.initializer !== "";
    return phases.run(
      "loaded",
      hasInit ? spec.initializerTimeoutMs : startTimeoutMs,
      hasInit
        ? INITIALIZER_TIMEOUT
        : startFailure(4201, `function load did not finish within ${startTimeoutMs} ms`),
      (exit, oom) => (oom ? memoryFailure() : loadExitFailure(exit, hasInit)),
    );
  };
  // The function to load right away: its `load` waits in the channel while the runtime boots,
  // and the shim reads it as soon as it has said `ready` (one round trip less).
  if (opts.loadNow) send(loadMessage(opts.loadNow));

  try {
    await phases.run(
      "ready",
      startTimeoutMs,
      startFailure(4201, `runtime did not become ready within ${startTimeoutMs} ms`),
      (exit, oom) =>
        oom
          ? memoryFailure()
          : startFailure(4201, `runtime exited while starting (${describeExit(exit)})`),
    );
  } catch (err) {
    stopping = true;
    await proc.kill();
    throw err;
  }
  // Wait for `loaded` from here, in the turn that saw `ready`: the shim may have sent both
  // messages together.
  const loadedEarly = opts.loadNow ? waitLoaded(opts.loadNow) : undefined;
  loadedEarly?.catch(() => undefined);
  const t2 = performance.now();

  let loading = false;
  const load = async (spec: LoadSpec): Promise<Instance> => {
    if (loading) throw new Error("a launched runtime is loaded once");
    if (loadedEarly && spec !== opts.loadNow) {
      throw new Error("a runtime launched with loadNow loads that function only");
    }
    loading = true;
    if (stopping || exitInfo) {
      throw new InstanceStartError(
        startFailure(4201, "prewarmed runtime exited before it was loaded"),
        startCapture.text(),
      );
    }
    if (!freshCapture) {
      // Output of an idle prewarmed runtime before its load is not the function's.
      output.detach(startCapture);
      startCapture = new LogCapture(maxLogBytes);
      output.attach(startCapture);
    }
    // Loaded with the launch: the load phase counts from `ready`.
    const tLoad = loadedEarly ? t2 : performance.now();
    try {
      if (!loadedEarly) send(loadMessage(spec));
      const loaded = await (loadedEarly ?? waitLoaded(spec));
      if (loaded.type === "loaded") initializerMs = loaded.initMs ?? 0;
    } catch (err) {
      stopping = true;
      await proc.kill();
      throw err;
    }
    const t3 = performance.now();
    // Every runtime keeps the launch CPU share through its load and first call: both are on a
    // caller's critical path, and at 0.3 CPU they crawl (sandbox notes §11.2). A bootstrap's
    // load is its whole server starting: an http function's took 264-395 ms at 0.3 CPU. Applied
    // when the first call ends, not right after the load: the first call's JIT warm-up and the
    // load share one CFS period, and 0.3 CPU applied after a full-speed load throttles that call
    // for the rest of the period (p95 +50 ms).
    limitsTimer = clock.setTimeout(applyPendingLimits, LIMITS_DELAY_MS);
    limitsTimer.unref?.();
    output.detach(startCapture);
    const startLog = startCapture.text();

    // The shim says how long its initializer ran; the rest of the load phase is module loading.
    const initMs = Math.min(initializerMs, t3 - tLoad);
    const timings: StartTimings = {
      sandboxMs: t1 - t0,
      bootMs: t2 - t1,
      loadMs: t3 - tLoad - initMs,
      initializerMs: initMs,
    };
    logger.debug({ timings }, "instance started");

    let frozen = false;
    const thaw = (): void => {
      if (!frozen) return;
      frozen = false;
      proc.thaw();
    };

    const instance: Instance = {
      id: opts.id,
      timings,
      startLog,
      get inflight() {
        return calls.size;
      },
      get dead() {
        return stopping || exitInfo !== undefined;
      },
      invoke(event, ctx, opts) {
        thaw();
        if (stopping || exitInfo) {
          return Promise.resolve({
            ok: false,
            ...NOT_RUNNING,
            durationMs: 0,
            maxRssKb: 0,
            log: "",
            fatal: true,
          });
        }
        if (opts.signal?.aborted) {
          return Promise.resolve({
            ok: false,
            ...CANCELED,
            durationMs: 0,
            maxRssKb: 0,
            log: "",
            fatal: false,
          });
        }
        return calls.start(event, ctx, opts);
      },
      freeze() {
        if (frozen || stopping || exitInfo || calls.size > 0) return;
        frozen = true;
        proc.freeze();
      },
      thaw,
      onExit(cb) {
        if (exitDone) queueMicrotask(cb);
        else exitCallbacks.push(cb);
      },
      close() {
        closing ??= (async () => {
          // A frozen runtime would not see fd 3 close: thaw it for the graceful stop.
          thaw();
          stopping = true;
          if (!exitInfo) {
            proc.channel.end();
            let t: TimerHandle | undefined;
            const graceful = await Promise.race([
              proc.exited.then(() => true),
              new Promise<boolean>((r) => {
                t = clock.setTimeout(() => r(false), CLOSE_GRACE_MS);
              }),
            ]);
            if (t) clock.clearTimeout(t);
            if (!graceful) await proc.kill();
          }
          await exitHandled;
        })();
        return closing;
      },
    };
    return instance;
  };

  return {
    id: opts.id,
    timings: { sandboxMs: t1 - t0, bootMs: t2 - t1 },
    get dead() {
      return stopping || exitInfo !== undefined;
    },
    load,
    warm: () => {
      if (!loading && !stopping && !exitInfo) send({ type: "warm" });
    },
    get warmed() {
      return warmed;
    },
    onExit(cb) {
      if (exitDone) queueMicrotask(cb);
      else exitCallbacks.push(cb);
    },
    kill: async () => {
      stopping = true;
      await proc.kill();
      await exitHandled;
    },
  };
}
