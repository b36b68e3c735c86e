import { z } from "zod";
import { compact, parseEventData } from "../event-data.js";
import type { TriggerKind } from "../types.js";

const ltsData = z
  .object({ log_group_id: z.string().min(1).max(64), log_topic_id: z.string().min(1).max(64) })
  .loose();

/** LTS: stored, not delivered by this installation. */
export function ltsKind(): TriggerKind {
  return {
    type: "LTS",
    defaultStatus: "ACTIVE",
    parse: (data) => ({
      eventData: compact({ ...parseEventData(ltsData, data, "INVALID_LTS_TRIGGER") }),
    }),
  };
}
