import { z } from "zod";
import { FsError } from "../../core/errors.js";
import { compact, looseBool, looseInt, parseEventData } from "../event-data.js";
import type { TriggerKind, TriggerSource } from "../types.js";
import type { NatsLink } from "./nats-link.js";

export {
  createDisSource,
  disEvent,
  consumerName,
  pollingMs,
  type DisSourceDeps,
} from "./dis-source.js";
export { createNatsLink, type NatsLink } from "./nats-link.js";

const pull = {
  polling_interval: looseInt.pipe(z.number().min(1).max(60_000)),
  polling_unit: z.enum(["s", "ms"]),
  batch_size: looseInt.pipe(z.number().min(1).max(10_000)),
  max_fetch_bytes: looseInt.pipe(z.number().min(1)),
  is_serial: looseBool,
};

const disData = z
  .object({
    stream_name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 letters, digits, _ or -"),
    sharditerator_type: z.enum(["TRIM_HORIZON", "LATEST"]),
    polling_interval: pull.polling_interval.default(30),
    polling_unit: pull.polling_unit.default("s"),
    batch_size: pull.batch_size.default(100),
    max_fetch_bytes: pull.max_fetch_bytes.optional(),
    is_serial: pull.is_serial.default(true),
  })
  .loose()
  .refine((d) => d.polling_unit === "ms" || d.polling_interval <= 60, {
    message: "polling_interval is 1-60 seconds",
    path: ["polling_interval"],
  });

const updatable = z
  .object({
    polling_interval: pull.polling_interval.optional(),
    polling_unit: pull.polling_unit.optional(),
    batch_size: pull.batch_size.optional(),
    max_fetch_bytes: pull.max_fetch_bytes.optional(),
    is_serial: pull.is_serial.optional(),
  })
  .loose();

/** DIS, backed by NATS JetStream streams (see docs/triggers.md for the mapping). */
export function disKind(source: TriggerSource, link: NatsLink): TriggerKind {
  return {
    type: "DIS",
    defaultStatus: "ACTIVE",
    parse: async (data) => {
      const d = parseEventData(disData, data, "INVALID_DIS_TRIGGER");
      let jsm;
      try {
        jsm = await link.jsm();
      } catch (err) {
        throw new FsError(
          "UNAVAILABLE",
          `the stream service (NATS at ${link.url}) is unreachable`,
          {
            cause: err,
          },
        );
      }
      try {
        await jsm.streams.info(d.stream_name);
      } catch (err) {
        throw new FsError("STREAM_NOT_FOUND", `Not found the stream: ${d.stream_name}`, {
          cause: err,
        });
      }
      return { eventData: compact({ ...d }) };
    },
    update: (cur, patch) => {
      const p = parseEventData(updatable, patch, "INVALID_DIS_TRIGGER");
      const next = compact({
        ...cur,
        ...compact({
          polling_interval: p.polling_interval,
          polling_unit: p.polling_unit,
          batch_size: p.batch_size,
          max_fetch_bytes: p.max_fetch_bytes,
          is_serial: p.is_serial,
        }),
      });
      parseEventData(disData, next, "INVALID_DIS_TRIGGER");
      return next;
    },
    conflict: (c, o) =>
      o.type === "DIS" &&
      o.functionId === c.functionId &&
      o.qualifier === c.qualifier &&
      o.eventData["stream_name"] === c.eventData["stream_name"]
        ? new FsError(
            "DIS_TRIGGER_EXISTS",
            `a trigger on stream ${String(c.eventData["stream_name"])} exists`,
          )
        : undefined,
    source,
  };
}
