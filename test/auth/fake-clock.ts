import type { Clock, TimerHandle } from "../../src/core/clock.js";

/** A Clock that only moves when told to. Timers are not needed by auth. */
export function createFakeClock(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    setTimeout: (): TimerHandle => ({}),
    clearTimeout: () => undefined,
    advance(ms: number) {
      now += ms;
    },
  };
}
