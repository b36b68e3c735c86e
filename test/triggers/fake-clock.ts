import { createFakeClock, type FakeClock } from "../helpers/fake-clock.js";

/** The shared fake clock as the timer tests drive it: 20 settle rounds, also before firing. */
export const createTimerClock = (start: number): FakeClock =>
  createFakeClock(start, { settleRounds: 20, settleFirst: true });
