import { z } from "zod";
import { compact, looseInt, parseEventData } from "../event-data.js";
import type { TriggerKind } from "../types.js";

const ddsData = z
  .object({
    instance_id: z.string().min(1).max(64),
    collection_name: z.string().min(1).max(256),
    db_name: z.string().min(1).max(256),
    db_password: z.string().min(1).max(256),
    db_user: z.string().max(256).optional(),
    batch_size: looseInt.pipe(z.number().min(1).max(10000)).default(100),
  })
  .loose();

/** DDS and GAUSSMONGO: stored, not delivered by this installation. Created DISABLED. */
export function ddsKinds(): TriggerKind[] {
  return (["DDS", "GAUSSMONGO"] as const).map((type) => ({
    type,
    defaultStatus: "DISABLED",
    hidden: ["db_password"],
    parse: (data) => ({
      eventData: compact({ ...parseEventData(ddsData, data, "INVALID_DDS_TRIGGER") }),
    }),
  }));
}
