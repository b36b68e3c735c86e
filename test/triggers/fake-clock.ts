import type { Clock, TimerHandle } from "../../src/core/clock.js";

/** A Clock with timers that only move when told to; `advance` fires due timers in order. */
export function createTimerClock(start: number) {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  const clock: Clock & {
    advance(ms: number): Promise<void>;
    settle(): Promise<void>;
    pending(): number;
  } = {
    now: () => now,
    setTimeout: (fn, ms): TimerHandle => {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return { id } as TimerHandle;
    },
    clearTimeout: (h) => {
      timers.delete((h as { id: number }).id);
    },
    /** Moves time forward to `now + ms`, running each timer at its own time. */
    advance: async (ms) => {
      const until = now + ms;
      await settle();
      for (;;) {
        const next = [...timers.entries()].sort((a, b) => a[1].at - b[1].at)[0];
        if (!next || next[1].at > until) break;
        timers.delete(next[0]);
        now = Math.max(now, next[1].at);
        next[1].fn();
        await settle();
      }
      now = until;
      await settle();
    },
    settle,
    pending: () => timers.size,
  };
  return clock;
}
