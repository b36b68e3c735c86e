import { z } from "zod";
import { FsError } from "../../core/errors.js";
import { compact, looseBool, looseInt, parseEventData } from "../event-data.js";
import type { TriggerKind } from "../types.js";

const kafkaData = z
  .object({
    instance_id: z.string().min(1).max(64).optional(),
    topic_ids: z.array(z.string().min(1).max(256)).min(1).max(20),
    batch_size: looseInt.pipe(z.number().min(1).max(1000)).default(100),
    kafka_user: z.string().max(256).optional(),
    kafka_password: z.string().max(256).optional(),
    kafka_connect_address: z.string().max(1024).optional(),
    kafka_ssl_enable: looseBool.optional(),
  })
  .loose();

/** KAFKA (DMS for Kafka) and OPENSOURCEKAFKA: stored, not delivered by this installation. */
export function kafkaKinds(): TriggerKind[] {
  return (["KAFKA", "OPENSOURCEKAFKA"] as const).map((type) => ({
    type,
    defaultStatus: "DISABLED",
    hidden: ["kafka_password"],
    parse: (data) => {
      const d = parseEventData(kafkaData, data, "INVALID_KAFKA_TRIGGER");
      if (type === "KAFKA" && !d.instance_id)
        throw new FsError("INVALID_KAFKA_TRIGGER", "event_data.instance_id is required");
      if (type === "OPENSOURCEKAFKA" && !d.kafka_connect_address)
        throw new FsError("INVALID_KAFKA_TRIGGER", "event_data.kafka_connect_address is required");
      if (d.kafka_ssl_enable && (!d.kafka_user || !d.kafka_password))
        throw new FsError("KAFKA_SASL_CREDENTIALS");
      return { eventData: compact({ ...d }) };
    },
    update: (cur, patch) =>
      compact({
        ...cur,
        ...(patch["batch_size"] !== undefined
          ? {
              batch_size: parseEventData(
                kafkaData.shape.batch_size,
                patch["batch_size"],
                "INVALID_KAFKA_TRIGGER",
              ),
            }
          : {}),
      }),
  }));
}
