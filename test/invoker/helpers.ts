import type { Clock, TimerHandle } from "../../src/core/clock.js";
import type { Logger } from "../../src/core/logger.js";
import pino from "pino";
import type { Instance } from "../../src/runtimes/instance.js";
import type { InvokeOutcome } from "../../src/runtimes/types.js";
import type { StartAnatomy, Started } from "../../src/invoker/pool.js";

export const silent: Logger = pino({ level: "silent" });

export interface ManualClock extends Clock {
  /** Move time forward, firing due timers in order. */
  advance(ms: number): Promise<void>;
  readonly pending: number;
}

/** A Clock whose timers fire only when the test advances it. */
export function createManualClock(start = 1_000_000): ManualClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return { id, unref() {} } as TimerHandle;
    },
    clearTimeout(h) {
      timers.delete((h as { id: number }).id);
    },
    get pending() {
      return timers.size;
    },
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const e of timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
        if (!next) break;
        timers.delete(next[0]);
        now = Math.max(now, next[1].at);
        next[1].fn();
        await flush();
      }
      now = end;
      await flush();
    },
  };
}

/** Let promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

export interface FakeInstance extends Instance {
  /** Simulate the process dying (kill -9). */
  crash(): void;
  readonly closed: boolean;
  /** Calls seen by invoke, for concurrency checks. */
  maxSeen: number;
  owner: string;
  /** Frozen by idle mode (freeze() while idle, thaw()); and how often each happened. */
  readonly frozen: boolean;
  freezes: number;
  thaws: number;
}

/** An instance whose calls finish when the test resolves them (or right away). */
/** Holds the calls of fake instances until `open()`. */
export interface Gate {
  holding: boolean;
  held: (() => void)[];
  open(): void;
}

export function createGate(holding = true): Gate {
  const gate: Gate = {
    holding,
    held: [],
    open() {
      gate.holding = false;
      for (const f of gate.held.splice(0)) f();
    },
  };
  return gate;
}

const openGate = createGate(false);

/** The start anatomy fake `startInstance` functions report (placement 1, sandbox 2, boot 3, load 4). */
export const FAKE_ANATOMY: StartAnatomy = Object.freeze({
  placementMs: 1,
  sandboxMs: 2,
  bootMs: 3,
  loadMs: 4,
  initializerMs: 0,
  prewarmed: false,
});

export function createFakeInstance(id: string, owner = "f", gate: Gate = openGate): FakeInstance {
  const exits: (() => void)[] = [];
  let dead = false;
  let closed = false;
  let inflight = 0;
  let frozen = false;
  const inst: FakeInstance = {
    id,
    owner,
    maxSeen: 0,
    freezes: 0,
    thaws: 0,
    get frozen() {
      return frozen;
    },
    freeze() {
      if (frozen || dead || inflight > 0) return;
      frozen = true;
      inst.freezes++;
    },
    thaw() {
      if (!frozen) return;
      frozen = false;
      inst.thaws++;
    },
    timings: { sandboxMs: 1, bootMs: 2, loadMs: 3, initializerMs: 0 },
    startLog: "",
    get inflight() {
      return inflight;
    },
    get dead() {
      return dead;
    },
    get closed() {
      return closed;
    },
    invoke(): Promise<InvokeOutcome> {
      // The pool must thaw an instance before it hands it a call (the real one would also thaw
      // here, but a fake that forgives would hide a pool that forgot).
      if (frozen) throw new Error(`invoke on frozen instance ${id}`);
      inflight++;
      inst.maxSeen = Math.max(inst.maxSeen, inflight);
      return new Promise<InvokeOutcome>((resolve) => {
        const done = (): void => {
          inflight--;
          resolve({ ok: true, result: `"${id}"`, durationMs: 0, maxRssKb: 0, log: "" });
        };
        if (gate.holding) gate.held.push(done);
        else queueMicrotask(done);
      });
    },
    onExit(cb) {
      if (dead) queueMicrotask(cb);
      else exits.push(cb);
    },
    close() {
      if (!dead) {
        dead = true;
        closed = true;
        for (const cb of exits.splice(0)) cb();
      }
      return Promise.resolve();
    },
    crash() {
      if (dead) return;
      dead = true;
      for (const cb of exits.splice(0)) cb();
    },
  };
  return inst;
}

export interface Starter {
  made: FakeInstance[];
  readonly waiting: number;
  /** Starts finish only when `finish()` is called. */
  manual(): void;
  finish(count?: number): void;
  fail(err: unknown): void;
  start(): Promise<Started>;
}

/** A start function with controllable completion; records every instance it made. */
export function createStarter(owner = "f", gate?: Gate): Starter {
  const made: FakeInstance[] = [];
  const waiting: { resolve: (s: Started) => void; reject: (e: unknown) => void }[] = [];
  let auto = true;
  let n = 0;
  const finish = (count = waiting.length): void => {
    for (const w of waiting.splice(0, count)) {
      const inst = createFakeInstance(`${owner}-${++n}`, owner, gate);
      made.push(inst);
      w.resolve({
        instance: inst,
        anatomy: {
          placementMs: 0,
          sandboxMs: 1,
          bootMs: 2,
          loadMs: 3,
          initializerMs: 0,
          prewarmed: false,
        },
      });
    }
  };
  return {
    made,
    get waiting() {
      return waiting.length;
    },
    manual() {
      auto = false;
    },
    finish,
    fail(err) {
      for (const w of waiting.splice(0)) w.reject(err);
    },
    start: () =>
      new Promise<Started>((resolve, reject) => {
        waiting.push({ resolve, reject });
        if (auto) queueMicrotask(() => finish(1));
      }),
  };
}
