import { z } from "zod";
import { FsError } from "../../core/errors.js";
import { compact, parseEventData } from "../event-data.js";
import type { TriggerKind, TriggerSource } from "../types.js";
import { parseSchedule, ScheduleError } from "./schedule.js";

export { createTimerSource, timerEvent, type TimerSourceDeps } from "./timer-source.js";

const timerData = z.object({
  name: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, "name: a letter, then letters, digits, _ or -"),
  schedule_type: z.enum(["Rate", "Cron"]),
  schedule: z.string().min(1).max(256),
  user_event: z.string().max(4096).optional(),
});

/** TIMER (contract §1.7, §4.2): Rate and Cron schedules, delivered asynchronously. */
export function timerKind(source: TriggerSource): TriggerKind {
  return {
    type: "TIMER",
    defaultStatus: "ACTIVE",
    parse: (data) => {
      const d = parseEventData(timerData.loose(), data, "INVALID_TIMER_TRIGGER");
      try {
        parseSchedule(d.schedule_type, d.schedule);
      } catch (err) {
        if (err instanceof ScheduleError) throw new FsError("INVALID_TIMER_TRIGGER", err.message);
        throw err;
      }
      return { eventData: compact({ ...d }) };
    },
    conflict: (c, o) =>
      o.type === "TIMER" &&
      o.functionId === c.functionId &&
      o.qualifier === c.qualifier &&
      o.eventData["name"] === c.eventData["name"]
        ? new FsError("TIMER_TRIGGER_EXISTS", `a timer named ${String(c.eventData["name"])} exists`)
        : undefined,
    source,
  };
}
