import { z } from "zod";
import { FsError } from "../../core/errors.js";
import { compact, parseEventData } from "../event-data.js";
import type { TriggerKind, TriggerRecord } from "../types.js";

/** Event names, new and old (`s3:`) forms, with the concrete events each stands for. */
const EVENTS: Record<string, string[]> = {
  ObjectCreated: ["Put", "Post", "Copy", "CompleteMultipartUpload"],
  Put: ["Put"],
  Post: ["Post"],
  Copy: ["Copy"],
  CompleteMultipartUpload: ["CompleteMultipartUpload"],
  ObjectRemoved: ["Delete", "DeleteMarkerCreated"],
  Delete: ["Delete"],
  DeleteMarkerCreated: ["DeleteMarkerCreated"],
  "s3:ObjectCreated:*": ["Put", "Post", "Copy", "CompleteMultipartUpload"],
  "s3:ObjectCreated:Put": ["Put"],
  "s3:ObjectCreated:Post": ["Post"],
  "s3:ObjectCreated:Copy": ["Copy"],
  "s3:ObjectCreated:CompleteMultipartUpload": ["CompleteMultipartUpload"],
  "s3:ObjectRemoved:*": ["Delete", "DeleteMarkerCreated"],
  "s3:ObjectRemoved:Delete": ["Delete"],
  "s3:ObjectRemoved:DeleteMarkerCreated": ["DeleteMarkerCreated"],
};

const obsData = z
  .object({
    bucket: z.string().min(1).max(64),
    events: z
      .array(z.string().refine((e) => e in EVENTS, "unknown OBS event"))
      .min(1)
      .max(16),
    prefix: z.string().max(1024).optional(),
    suffix: z.string().max(1024).optional(),
    name: z.string().max(256).optional(),
  })
  .loose();

const concrete = (t: TriggerRecord): Set<string> =>
  new Set((t.eventData["events"] as string[]).flatMap((e) => EVENTS[e] ?? []));
const str = (v: unknown): string => (typeof v === "string" ? v : "");
const overlaps = (a: string, b: string, f: (x: string, y: string) => boolean): boolean =>
  f(a, b) || f(b, a);

/** OBS: stored, not delivered by this installation (there is no object store here yet). */
export function obsKind(): TriggerKind {
  return {
    type: "OBS",
    defaultStatus: "ACTIVE",
    parse: (data) => ({
      eventData: compact({ ...parseEventData(obsData, data, "INVALID_OBS_TRIGGER") }),
    }),
    // One bucket cannot send one object event to two triggers (FSS.1108).
    conflict: (c, o) => {
      if (o.type !== "OBS" || o.eventData["bucket"] !== c.eventData["bucket"]) return undefined;
      const a = concrete(c);
      if (![...concrete(o)].some((e) => a.has(e))) return undefined;
      const pre = overlaps(str(c.eventData["prefix"]), str(o.eventData["prefix"]), (x, y) =>
        x.startsWith(y),
      );
      const suf = overlaps(str(c.eventData["suffix"]), str(o.eventData["suffix"]), (x, y) =>
        x.endsWith(y),
      );
      return pre && suf
        ? new FsError(
            "OBS_BUCKET_CONFLICT",
            `bucket ${String(c.eventData["bucket"])} already has an overlapping trigger`,
          )
        : undefined;
    },
  };
}
