import { z } from "zod";
import { FsError, type ErrorCode } from "../core/errors.js";

/** Validate `event_data` with a type's schema; failures become that type's error code. */
export function parseEventData<S extends z.ZodType>(
  schema: S,
  data: unknown,
  code: ErrorCode,
): z.infer<S> {
  const r = schema.safeParse(data ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? `event_data.${issue.path.join(".")}: ` : "";
  throw new FsError(code, `${where}${issue?.message ?? "invalid event_data"}`);
}

/** A string field that also accepts numbers and booleans (SDKs send `"true"`, `10`, …). */
export const looseString = z.union([z.string(), z.number(), z.boolean()]).transform(String);

/** An integer given as a number or a numeric string. */
export const looseInt = z
  .union([z.number(), z.string().regex(/^-?[0-9]+$/)])
  .transform(Number)
  .pipe(z.number().int());

/** A boolean given as a boolean or as `"true"`/`"false"` (DIS `is_serial`). */
export const looseBool = z
  .union([z.boolean(), z.enum(["true", "false"])])
  .transform((v) => v === true || v === "true");

/** Drop undefined values so stored JSON only has what was given or defaulted. */
export function compact<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
