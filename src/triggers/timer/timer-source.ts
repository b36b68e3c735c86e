import type { Clock, TimerHandle } from "../../core/clock.js";
import type { Logger } from "../../core/logger.js";
import type { TriggerStore } from "../../store/trigger-types.js";
import type { Delivery, TriggerRecord, TriggerSource } from "../types.js";
import { lastPointUpTo, nextPoint, parseSchedule, type Schedule } from "./schedule.js";

export interface TimerSourceDeps {
  store: TriggerStore;
  delivery: Delivery;
  clock: Clock;
  logger: Logger;
  /** Longest single sleep; wakes re-read the clock (wall-clock jumps, setTimeout limits). */
  maxSleepMs?: number;
}

interface Entry {
  t: TriggerRecord;
  schedule: Schedule;
  handle?: TimerHandle;
  stopped: boolean;
}

/** The TIMER contract §4.2 event for schedule point `at`. */
export function timerEvent(t: TriggerRecord, at: number): Record<string, unknown> {
  return {
    version: "v1.0",
    time: new Date(at).toISOString().replace(/\.\d{3}Z$/, "+00:00"),
    trigger_type: "TIMER",
    trigger_name: t.eventData["name"],
    user_event: t.eventData["user_event"] ?? "",
  };
}

/**
 * Fires each TIMER trigger once per schedule point. A point is claimed in the store before its
 * event is queued (compare-and-set on the last fired point), so a restart never fires a point
 * twice; after downtime only the latest missed point fires (one catch-up). Intervals (Rate,
 * `@every`) count from the trigger's creation time, so they keep their phase across restarts.
 */
export function createTimerSource(deps: TimerSourceDeps): TriggerSource {
  const { store, clock } = deps;
  const maxSleep = deps.maxSleepMs ?? 60_000;
  const entries = new Map<string, Entry>();

  const wake = async (e: Entry): Promise<void> => {
    if (e.stopped) return;
    const log = deps.logger.child({ triggerId: e.t.id });
    try {
      const now = clock.now();
      const last = (await store.lastFired(e.t.id)) ?? e.t.createdAt;
      const due = lastPointUpTo(e.schedule, e.t.createdAt, last, now);
      if (due !== undefined && !e.stopped && (await store.claimFire(e.t.id, due))) {
        try {
          const requestId = await deps.delivery.submit(e.t, timerEvent(e.t, due));
          log.debug({ requestId, at: due }, "timer fired");
        } catch (err) {
          log.warn({ err, at: due }, "timer could not queue its event");
        }
      }
    } catch (err) {
      log.warn({ err }, "timer wake failed");
    }
    arm(e);
  };

  const arm = (e: Entry): void => {
    if (e.stopped) return;
    const now = clock.now();
    const next = nextPoint(e.schedule, e.t.createdAt, now);
    const delay = next === undefined ? maxSleep : Math.min(maxSleep, Math.max(0, next - now));
    e.handle = clock.setTimeout(() => void wake(e), delay);
    e.handle.unref?.();
  };

  const stop = async (id: string): Promise<void> => {
    const e = entries.get(id);
    if (!e) return;
    e.stopped = true;
    if (e.handle) clock.clearTimeout(e.handle);
    entries.delete(id);
  };

  return {
    start: async (t) => {
      await stop(t.id);
      const schedule = parseSchedule(
        String(t.eventData["schedule_type"]),
        String(t.eventData["schedule"]),
      );
      const e: Entry = { t, schedule, stopped: false };
      entries.set(t.id, e);
      await wake(e);
    },
    stop,
    enabled: async (t) => {
      // Points missed while disabled are not caught up.
      await store.setLastFired(t.id, clock.now());
    },
    close: async () => {
      for (const id of [...entries.keys()]) await stop(id);
    },
  };
}
