import { z } from "zod";
import { compact, parseEventData } from "../event-data.js";
import type { TriggerKind } from "../types.js";

/** `<Service>:<resType1;resType2>:<op1;op2>`, e.g. `ECS:ecs;server:restartServer;deleteServer`. */
const OPERATION = /^[A-Za-z0-9_-]+:[A-Za-z0-9_;-]+:[A-Za-z0-9_;-]+$/;

const ctsData = z
  .object({
    name: z.string().max(64).optional(),
    operations: z
      .array(z.string().regex(OPERATION, "Service:resourceTypes:operations"))
      .min(1)
      .max(100),
  })
  .loose();

/** CTS: stored, not delivered by this installation. */
export function ctsKind(): TriggerKind {
  return {
    type: "CTS",
    defaultStatus: "ACTIVE",
    parse: (data) => ({
      eventData: compact({ ...parseEventData(ctsData, data, "INVALID_CTS_TRIGGER") }),
    }),
  };
}
