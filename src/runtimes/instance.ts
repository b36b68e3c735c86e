import { performance } from "node:perf_hooks";
import { systemClock, type TimerHandle } from "../core/clock.js";
import { createFrameDecoder, encodeFrame } from "../sandbox/channel.js";
import type { SandboxExit, SandboxProcess, SandboxSpec } from "../sandbox/types.js";
import type {
  Instance,
  InstanceOptions,
  LaunchedRuntime,
  LaunchOptions,
  StartTimings,
} from "./instance-types.js";
import { DEFAULT_MAX_LOG_BYTES, LogCapture, OutputRouter } from "./log-capture.js";
import { parseRuntimeMessage, type HostMessage, type RuntimeMessage } from "./messages.js";
import {
  CANCELED,
  INITIALIZER_TIMEOUT,
  NOT_RUNNING,
  OOM_PATTERN,
  TIMEOUT,
  describeExit,
  exitFailure,
  killFailure,
  launchFailure,
  loadExitFailure,
  memoryFailure,
  protocolFailure,
  startFailure,
  type Failure,
  type KillReason,
} from "./outcomes.js";
import { InstanceStartError } from "./start-error.js";
import type { InvokeOutcome, LoadSpec } from "./types.js";

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
/** Longest a loaded prewarmed runtime keeps the launch CPU share without a call. */
const PREWARM_LIMITS_DELAY_MS = 1000;
/** Share of the memory limit the peak must reach before a result reads the OOM counter. */
const OOM_CHECK_SHARE = 0.9;

interface Pending {
  id: string;
  start: number;
  capture: LogCapture;
  timer: TimerHandle;
  resolve: (outcome: InvokeOutcome) => void;
  done: boolean;
  cleanup: () => void;
}

/** Waits for one start-up phase; receives the messages and the exit meanwhile. */
interface PhaseWaiter {
  message(msg: RuntimeMessage): void;
  exit(exit: SandboxExit): void;
}

/**
 * Launch the runtime in the sandbox, wait for `ready`, send `load`, wait for `loaded`.
 * Throws InstanceStartError (after killing the process) when any step fails.
 */
export async function createInstance(opts: InstanceOptions): Promise<Instance> {
  const runtime = await launchRuntime({ ...opts, loadNow: true });
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
  const pending = new Map<string, Pending>();
  const exitCallbacks: (() => void)[] = [];
  let exitInfo: SandboxExit | undefined;
  let killReason: KillReason | undefined;
  let stopping = false;
  let phase: PhaseWaiter | undefined;
  let seq = 0;
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
  const freshCapture = opts.loadNow === true;
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

  // Frames written in one turn of the event loop (the calls of a burst) go out in one writev:
  // each write to the channel wakes the runtime, and a wake-up is the dear part of a small write.
  let corked = false;
  const uncork = (): void => {
    corked = false;
    proc.channel.uncork();
  };
  const send = (msg: HostMessage): void => {
    if (!proc.channel.writable) return;
    if (!corked) {
      corked = true;
      proc.channel.cork();
      setImmediate(uncork);
    }
    proc.channel.write(encodeFrame(msg));
  };

  const protocolError = (err: unknown): void => {
    logger.error({ err }, "instance protocol violation; killing the runtime");
    kill(protocolFailure(err));
  };

  /** Prewarmed: the function's CPU share waits for the end of the first call (or a timer). */
  let limitsPending = false;
  let limitsTimer: TimerHandle | undefined;
  const applyPendingLimits = (): void => {
    if (!limitsPending) return;
    limitsPending = false;
    if (limitsTimer) clock.clearTimeout(limitsTimer);
    proc.applyRuntimeLimits();
  };

  const finish = (p: Pending, outcome: InvokeOutcome): void => {
    if (p.done) return;
    p.done = true;
    applyPendingLimits();
    p.cleanup();
    pending.delete(p.id);
    if (pending.size === 0) proc.idle?.();
    output.detach(p.capture);
    p.resolve(outcome);
  };

  // Calls that overlap share the instance's peak: results that arrive in one turn of the event
  // loop read it once (each read of the cgroup file is a system call).
  let peakThisTurn: number | undefined | null = null;
  const forgetPeak = (): void => {
    peakThisTurn = null;
  };
  const peakMemory = (): number | undefined => {
    if (peakThisTurn !== null) return peakThisTurn;
    const peak = proc.peakMemoryBytes();
    if (pending.size > 1) {
      peakThisTurn = peak;
      setImmediate(forgetPeak);
    }
    return peak;
  };
  const maxRss = (reportedKb: number, peak: number | undefined): number =>
    Math.max(reportedKb, peak === undefined ? 0 : Math.ceil(peak / 1024));
  // An OOM kill needs the group at its limit, and the peak (kept since the last reset, which
  // only happens after a result was checked) then shows it: below this share of the limit the
  // OOM counter is not read (a system call per result).
  // A sampled peak (cgroup v2 before 6.12) can miss the spike of a child killed at the limit, so
  // it rules nothing out.
  const oomPossible = (peak: number | undefined): boolean =>
    peak === undefined ||
    proc.peakExact === false ||
    peak >= opts.memoryMb * 1024 * 1024 * OOM_CHECK_SHARE;

  const onResult = (msg: Extract<RuntimeMessage, { type: "result" }>): void => {
    const p = pending.get(msg.id);
    if (!p || p.done) return;
    const peak = peakMemory();
    const base = { durationMs: msg.durationMs, maxRssKb: maxRss(msg.maxRssKb, peak) };
    // An OOM kill anywhere in the tree (a child the handler spawned, say) while the runtime
    // lived on still fails the call, and the instance is not trusted again.
    if (oomPossible(peak) && proc.oomKilled()) {
      const oom = memoryFailure();
      finish(p, { ok: false, ...oom, ...base, log: p.capture.text(), fatal: true });
      kill({ ...oom, byId: p.id });
      return;
    }
    if (msg.ok) {
      finish(p, { ok: true, result: msg.result, ...base, log: p.capture.text() });
      return;
    }
    const fatal = msg.errorCode === 4205;
    finish(p, {
      ok: false,
      errorCode: msg.errorCode,
      isFuncErr: true,
      error: msg.error,
      ...base,
      log: p.capture.text(),
      fatal,
    });
    if (fatal) kill({ ...memoryFailure(), byId: p.id });
  };

  const decoder = createFrameDecoder((text) => {
    let msg: RuntimeMessage;
    try {
      msg = parseRuntimeMessage(text);
    } catch (err) {
      protocolError(err);
      return;
    }
    // The runtime writes its output before the message, but that output may still sit in the
    // stdout/stderr pipes: let this poll phase read it first.
    setImmediate(() => {
      if (msg.type === "result") onResult(msg);
      else if (msg.type === "warmed") warmed = true;
      else if (phase) phase.message(msg);
      else logger.warn({ type: msg.type }, "unexpected runtime message");
    });
  }, protocolError);
  proc.channel.on("data", (chunk: Buffer) => decoder.push(chunk));

  void proc.exited.then((exit) => {
    exitInfo = exit;
    stopping = true;
    // Let output still queued in the pipes reach its capture before the outcomes are built.
    setImmediate(() => {
      const oom = isOom();
      phase?.exit(exit);
      for (const p of [...pending.values()]) {
        const failure = killReason ? killFailure(killReason, p.id) : exitFailure(exit, oom);
        finish(p, {
          ok: false,
          ...failure,
          durationMs: performance.now() - p.start,
          maxRssKb: maxRss(0, peakMemory()),
          log: p.capture.text(),
          fatal: true,
        });
      }
      if (!killReason) logger.debug({ ...exit }, "runtime exited");
      exitDone = true;
      for (const cb of exitCallbacks.splice(0)) cb();
      markExitDone();
    });
  });

  /** Run one start-up phase: resolve on `want`, fail on exit, timeout or a load_error. */
  const runPhase = (
    want: "ready" | "loaded",
    timeoutMs: number,
    onTimeout: Failure,
    onExitFailure: (exit: SandboxExit, oom: boolean) => Failure,
  ): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const fail = (f: Failure) => {
        clock.clearTimeout(timer);
        phase = undefined;
        reject(new InstanceStartError(f, startCapture.text()));
      };
      const timer = clock.setTimeout(() => fail(onTimeout), timeoutMs);
      phase = {
        message(msg) {
          if (msg.type === want) {
            clock.clearTimeout(timer);
            phase = undefined;
            if (msg.type === "loaded") initializerMs = msg.initMs ?? 0;
            resolve();
          } else if (msg.type === "load_error" && want === "loaded") {
            fail({ errorCode: msg.errorCode, isFuncErr: true, error: msg.error });
          } else {
            fail({
              errorCode: 4201,
              isFuncErr: false,
              error: {
                errorMessage: `initialization failed: unexpected '${msg.type}' message`,
                errorType: "RuntimeError",
              },
            });
          }
        },
        exit(exit) {
          fail(onExitFailure(exit, isOom()));
        },
      };
      if (exitInfo) phase.exit(exitInfo);
    });

  try {
    await runPhase(
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
  const t2 = performance.now();
  // A prewarmed runtime keeps the launch CPU share until it is loaded: its load and first call
  // are on a caller's critical path, and at 0.3 CPU they crawl (sandbox notes §11.2).
  if (opts.loadNow) proc.applyRuntimeLimits();

  let loading = false;
  const load = async (spec: LoadSpec): Promise<Instance> => {
    if (loading) throw new Error("a launched runtime is loaded once");
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
    const tLoad = performance.now();
    try {
      const hasInit = spec.initializer !== "";
      send({
        type: "load",
        handler: spec.handler,
        initializer: spec.initializer,
        initializerTimeoutMs: spec.initializerTimeoutMs,
        // The sandbox's own per-call peak (cgroup) makes the runtime's getrusage figure redundant.
        measureRss: proc.peakMemoryBytes() === undefined,
        // The code root is where this sandbox shows the code, whatever the caller assumed.
        env: { ...spec.env, RUNTIME_CODE_ROOT: paths.codeRoot, RUNTIME_ROOT: paths.runtimeRoot },
      });
      await runPhase(
        "loaded",
        hasInit ? spec.initializerTimeoutMs : startTimeoutMs,
        hasInit
          ? INITIALIZER_TIMEOUT
          : startFailure(4201, `function load did not finish within ${startTimeoutMs} ms`),
        (exit, oom) => (oom ? memoryFailure() : loadExitFailure(exit, hasInit)),
      );
    } catch (err) {
      stopping = true;
      await proc.kill();
      throw err;
    }
    const t3 = performance.now();
    if (!opts.loadNow) {
      // The first call's JIT warm-up and the load share one CFS period: applying 0.3 CPU right
      // after a full-speed load throttles that call for the rest of the period (p95 +50 ms).
      limitsPending = true;
      limitsTimer = clock.setTimeout(applyPendingLimits, PREWARM_LIMITS_DELAY_MS);
      limitsTimer.unref?.();
    }
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
        return pending.size;
      },
      get dead() {
        return stopping || exitInfo !== undefined;
      },
      invoke(event, ctx, { timeoutMs, signal }) {
        thaw();
        const start = performance.now();
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
        if (signal?.aborted) {
          return Promise.resolve({
            ok: false,
            ...CANCELED,
            durationMs: 0,
            maxRssKb: 0,
            log: "",
            fatal: false,
          });
        }
        const id = String(++seq);
        // The peak is the instance's: calls that overlap share one figure, reset when a call
        // starts on an idle instance.
        if (pending.size === 0) {
          proc.resetPeakMemory();
          peakThisTurn = null;
        }
        return new Promise<InvokeOutcome>((resolve) => {
          const onAbort = () => kill({ ...CANCELED, byId: id });
          const timer = clock.setTimeout(() => kill({ ...TIMEOUT, byId: id }), timeoutMs);
          const p: Pending = {
            id,
            start,
            capture: new LogCapture(maxLogBytes),
            timer,
            resolve,
            done: false,
            cleanup: () => {
              clock.clearTimeout(timer);
              signal?.removeEventListener("abort", onAbort);
            },
          };
          signal?.addEventListener("abort", onAbort, { once: true });
          pending.set(id, p);
          output.attach(p.capture);
          send({ type: "invoke", id, event, context: ctx });
        });
      },
      freeze() {
        if (frozen || stopping || exitInfo || pending.size > 0) return;
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
