import { performance } from "node:perf_hooks";
import type { Clock, TimerHandle } from "../core/clock.js";
import type { SandboxExit, SandboxProcess } from "../sandbox/types.js";
import type { InvokeOptions } from "./instance-types.js";
import { LogCapture, type OutputRouter } from "./log-capture.js";
import type { HostMessage, ResultMessage } from "./messages.js";
import {
  CANCELED,
  TIMEOUT,
  exitFailure,
  killFailure,
  memoryFailure,
  type KillReason,
} from "./outcomes.js";
import type { InvokeContext, InvokeOutcome } from "./types.js";

const noCleanup = (): void => {};

/** The id of an instance's n-th call (PROTOCOL.md: a string unique per instance): "c1000000001", … */
export const callId = (n: number): string => `c${1e9 + n}`;

/** Share of the memory limit the peak must reach before a result reads the OOM counter. */
const OOM_CHECK_SHARE = 0.9;

interface Pending {
  id: string;
  start: number;
  /** clock.now() at which the call times out. */
  deadline: number;
  capture: LogCapture;
  resolve: (outcome: InvokeOutcome) => void;
  done: boolean;
  cleanup: () => void;
}

export interface CallTableDeps {
  proc: SandboxProcess;
  output: OutputRouter;
  clock: Clock;
  memoryMb: number;
  maxLogBytes: number;
  send: (msg: HostMessage) => void;
  kill: (reason: KillReason) => void;
  /** Runs when any call ends (the function's CPU share waits for the first). */
  onCallEnd: () => void;
}

/** The calls in flight on one runtime: started, answered, timed out, or failed by its exit. */
export interface CallTable {
  readonly size: number;
  /** Send the call to the runtime; resolves with its outcome (never rejects). */
  start(event: string, ctx: InvokeContext, opts: InvokeOptions): Promise<InvokeOutcome>;
  /** A `result` frame arrived. */
  onResult(msg: ResultMessage): void;
  /** The runtime is gone: every call still pending fails (`oom`: it looked out of memory). */
  failAll(exit: SandboxExit, killReason: KillReason | undefined, oom: boolean): void;
}

export function createCallTable(deps: CallTableDeps): CallTable {
  const { proc, output, clock } = deps;
  const pending = new Map<string, Pending>();
  let seq = 0;

  // One timer for all the calls in flight, at the earliest deadline, instead of one per call (an
  // ablation without per-call timers read ~2 µs less of the event loop's CPU per warm call; the
  // change itself measured within the harness's noise). When it fires, a call past its deadline
  // stops the runtime, as its own timer did; else it is set again for the earliest deadline left.
  let timer: TimerHandle | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  const stopTimer = (): void => {
    if (timer) clock.clearTimeout(timer);
    timer = undefined;
    timerAt = Number.POSITIVE_INFINITY;
  };
  const armTimer = (at: number): void => {
    if (timer && timerAt <= at) return;
    stopTimer();
    timerAt = at;
    timer = clock.setTimeout(onTimer, Math.max(0, at - clock.now()));
  };
  const onTimer = (): void => {
    timer = undefined;
    timerAt = Number.POSITIVE_INFINITY;
    const now = clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const p of pending.values()) {
      if (p.deadline <= now) {
        deps.kill({ ...TIMEOUT, byId: p.id });
        return;
      }
      if (p.deadline < next) next = p.deadline;
    }
    if (next < Number.POSITIVE_INFINITY) armTimer(next);
  };

  const finish = (p: Pending, outcome: InvokeOutcome): void => {
    if (p.done) return;
    p.done = true;
    deps.onCallEnd();
    p.cleanup();
    pending.delete(p.id);
    if (pending.size === 0) {
      stopTimer();
      proc.idle?.();
    }
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
    peak >= deps.memoryMb * 1024 * 1024 * OOM_CHECK_SHARE;

  return {
    get size() {
      return pending.size;
    },

    start(event, ctx, { timeoutMs, signal }) {
      const start = performance.now();
      // Eleven characters or more, not all digits: V8's JSON.parse interns string values of up to
      // ten, so "1", "2", … put one new entry per call in the string tables of the runtime and of
      // this process (a result parse ~1,150 ns instead of ~830, and mark-compacts to empty them).
      const id = callId(++seq);
      // The peak is the instance's: calls that overlap share one figure, reset when a call
      // starts on an idle instance.
      if (pending.size === 0) {
        proc.resetPeakMemory();
        peakThisTurn = null;
      }
      return new Promise<InvokeOutcome>((resolve) => {
        // A caller that left stops its call by stopping the runtime, but only when the call has
        // the runtime to itself: with concurrent_num > 1 that would fail the other calls too.
        // Otherwise the call runs on (its timeout still holds) and nobody reads its result.
        const onAbort = () => {
          if (pending.size <= 1) deps.kill({ ...CANCELED, byId: id });
        };
        const deadline = clock.now() + timeoutMs;
        const p: Pending = {
          id,
          start,
          deadline,
          capture: new LogCapture(deps.maxLogBytes),
          resolve,
          done: false,
          cleanup: signal ? () => signal.removeEventListener("abort", onAbort) : noCleanup,
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        pending.set(id, p);
        armTimer(deadline);
        output.attach(p.capture);
        deps.send({ type: "invoke", id, event, context: ctx });
      });
    },

    onResult(msg) {
      const p = pending.get(msg.id);
      if (!p || p.done) return;
      const peak = peakMemory();
      const base = { durationMs: msg.durationMs, maxRssKb: maxRss(msg.maxRssKb, peak) };
      // An OOM kill anywhere in the tree (a child the handler spawned, say) while the runtime
      // lived on still fails the call, and the instance is not trusted again.
      if (oomPossible(peak) && proc.oomKilled()) {
        const oom = memoryFailure();
        finish(p, { ok: false, ...oom, ...base, log: p.capture.text(), fatal: true });
        deps.kill({ ...oom, byId: p.id });
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
      if (fatal) deps.kill({ ...memoryFailure(), byId: p.id });
    },

    failAll(exit, killReason, oom) {
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
    },
  };
}
