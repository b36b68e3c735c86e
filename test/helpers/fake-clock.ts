import type { Clock, TimerHandle } from "../../src/core/clock.js";

/** A Clock whose time and timers move only when told to. */
export interface FakeClock extends Clock {
  /** Moves time forward to `now + ms`, running each due timer at its own time, in order. */
  advance(ms: number): Promise<void>;
  /** Lets promise chains and setImmediate callbacks run (`settleRounds` rounds). */
  settle(): Promise<void>;
  pending(): number;
}

export interface FakeClockOptions {
  /** setImmediate rounds after each timer and at the end of `advance` (default 5). */
  settleRounds?: number;
  /** Also settle before the first timer fires (default no). */
  settleFirst?: boolean;
}

export function createFakeClock(
  start = Date.UTC(2026, 0, 1),
  { settleRounds = 5, settleFirst = false }: FakeClockOptions = {},
): FakeClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const settleClock = () => settle(settleRounds);
  return {
    now: () => now,
    setTimeout: (fn, ms): TimerHandle => {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return { id } as TimerHandle;
    },
    clearTimeout: (h) => {
      timers.delete((h as { id: number }).id);
    },
    pending: () => timers.size,
    settle: settleClock,
    async advance(ms) {
      const until = now + ms;
      if (settleFirst) await settleClock();
      for (;;) {
        const due = [...timers.entries()]
          .filter(([, t]) => t.at <= until)
          .sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = Math.max(now, due[1].at);
        due[1].fn();
        await settleClock();
      }
      now = until;
      await settleClock();
    },
  };
}

/** Let promise chains and setImmediate callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}
