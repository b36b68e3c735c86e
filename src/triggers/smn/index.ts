import { z } from "zod";
import { compact, parseEventData } from "../event-data.js";
import type { TriggerKind } from "../types.js";

const smnData = z.object({ topic_urn: z.string().min(1).max(255) }).loose();

/** SMN: stored, not delivered by this installation. */
export function smnKind(): TriggerKind {
  return {
    type: "SMN",
    defaultStatus: "ACTIVE",
    parse: (data) => ({
      eventData: compact({ ...parseEventData(smnData, data, "INVALID_SMN_TRIGGER") }),
    }),
  };
}
