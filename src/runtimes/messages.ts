import { z } from "zod";
import type { InvokeContext } from "./types.js";

/** Schemas of the instance protocol (PROTOCOL.md). Runtime → host messages are validated. */

const errorPayloadSchema = z.object({
  errorMessage: z.string(),
  errorType: z.string(),
  stackTrace: z.array(z.string()).optional(),
});

const readySchema = z.object({ type: z.literal("ready") });
/** The reply to `warm` (informational). */
const warmedSchema = z.object({ type: z.literal("warmed") });
/** `initMs`: time the initializer took, within the load (absent from runtimes that do not say). */
const loadedSchema = z.object({
  type: z.literal("loaded"),
  initMs: z.number().nonnegative().optional(),
});
const loadErrorSchema = z.object({
  type: z.literal("load_error"),
  errorCode: z.number().int(),
  error: errorPayloadSchema,
});
const resultFields = {
  type: z.literal("result"),
  id: z.string(),
  durationMs: z.number().nonnegative(),
  maxRssKb: z.number().nonnegative(),
};
const resultOkSchema = z.object({ ...resultFields, ok: z.literal(true), result: z.string() });
const resultErrorSchema = z.object({
  ...resultFields,
  ok: z.literal(false),
  errorCode: z.number().int(),
  error: errorPayloadSchema,
});

export const runtimeMessageSchema = z.union([
  readySchema,
  warmedSchema,
  loadedSchema,
  loadErrorSchema,
  resultOkSchema,
  resultErrorSchema,
]);

export type RuntimeMessage = z.infer<typeof runtimeMessageSchema>;
export type ResultMessage = z.infer<typeof resultOkSchema> | z.infer<typeof resultErrorSchema>;

/** Host → runtime messages. */
export type HostMessage =
  | {
      type: "load";
      handler: string;
      initializer: string;
      initializerTimeoutMs: number;
      env: Record<string, string>;
      /** false: the sandbox measures each call's peak memory; the shim need not (default true). */
      measureRss?: boolean;
    }
  | { type: "invoke"; id: string; event: string; context: InvokeContext }
  /** A prewarmed runtime compiles its load and invoke paths ahead; the Node shim replies `warmed`. */
  | { type: "warm" };

/** Parse one frame's text; throws on anything that is not a known message. */
export function parseRuntimeMessage(text: string): RuntimeMessage {
  const value: unknown = JSON.parse(text);
  return isPlainOkResult(value) ? value : runtimeMessageSchema.parse(value);
}

/**
 * The message of nearly every frame, checked by hand (zod's union costs ~1 % of the server's CPU
 * on the warm path). Anything unusual, extra keys included, goes through the schema.
 */
function isPlainOkResult(v: unknown): v is z.infer<typeof resultOkSchema> {
  if (typeof v !== "object" || v === null) return false;
  const m = v as Record<string, unknown>;
  return (
    m["type"] === "result" &&
    m["ok"] === true &&
    typeof m["id"] === "string" &&
    typeof m["result"] === "string" &&
    typeof m["durationMs"] === "number" &&
    m["durationMs"] >= 0 &&
    typeof m["maxRssKb"] === "number" &&
    m["maxRssKb"] >= 0 &&
    Object.keys(m).length === 6
  );
}
