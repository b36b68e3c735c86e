import { z } from "zod";
import type { InvokeContext } from "./types.js";

/** Schemas of the instance protocol (PROTOCOL.md). Runtime → host messages are validated. */

const errorPayloadSchema = z.object({
  errorMessage: z.string(),
  errorType: z.string(),
  stackTrace: z.array(z.string()).optional(),
});

/** `baseContext`: the runtime takes `context` messages (PROTOCOL.md); invokes then leave it out. */
const readySchema = z.object({ type: z.literal("ready"), baseContext: z.literal(true).optional() });
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
  /** The fields of FIXED_CONTEXT_KEYS for the invokes that follow (written by the invoke writer). */
  | { type: "context"; context: Partial<InvokeContext> }
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

export type InvokeMessage = Extract<HostMessage, { type: "invoke" }>;

/** The fields of an invoke context that stay the same from call to call of one instance. */
const FIXED_CONTEXT_KEYS = [
  "functionName",
  "version",
  "alias",
  "package",
  "projectId",
  "memorySize",
  "cpuMillicores",
  "timeoutSeconds",
  "invokeType",
  "userData",
  "accessKey",
  "secretKey",
  "securityToken",
  "authToken",
] as const satisfies readonly (keyof InvokeContext)[];
/** Every key of InvokeContext is written: one added to the type must be added above, or per call. */
type WrittenKey = (typeof FIXED_CONTEXT_KEYS)[number] | "requestId" | "deadline" | "headers";
const _everyKeyWritten: [Exclude<keyof InvokeContext, WrittenKey>] extends [never] ? true : never =
  true;

/**
 * Writes invoke messages as JSON, the same as JSON.stringify but for the order of the context's
 * keys. The part of the context that does not change between calls (FIXED_CONTEXT_KEYS, compared
 * by identity) is serialised once and reused while it stays the same: JSON.stringify of the whole
 * message was ~5 % of the event loop's CPU on a warm no-op call, more than the rest of the frame's
 * way to the runtime. One writer per channel (its calls usually share one function version).
 *
 * With `sendBase` (a runtime that said `baseContext` in its `ready`, PROTOCOL.md) that part is not
 * in the invoke at all: it goes ahead in a `context` message whenever it differs from the last one
 * sent, and the runtime takes it from there. Parsing it with every call was ~60 % of the Node
 * shim's parse of a warm no-op call's frame (~1.8 of ~3.0 µs, micro-benchmark).
 */
export function createInvokeWriter(): (
  m: InvokeMessage,
  sendBase?: (json: string) => void,
) => string {
  let fixed: Pick<InvokeContext, (typeof FIXED_CONTEXT_KEYS)[number]> | undefined;
  let fixedJson = "";
  /** The fixed part last sent as a `context` message. */
  let baseJson: string | undefined;
  return (m, sendBase) => {
    const c = m.context;
    // Spelled out: a loop over the key list costs a megamorphic load per key and call.
    const f0 = fixed;
    if (
      !f0 ||
      c.functionName !== f0.functionName ||
      c.version !== f0.version ||
      c.alias !== f0.alias ||
      c.package !== f0.package ||
      c.projectId !== f0.projectId ||
      c.memorySize !== f0.memorySize ||
      c.cpuMillicores !== f0.cpuMillicores ||
      c.timeoutSeconds !== f0.timeoutSeconds ||
      c.invokeType !== f0.invokeType ||
      c.userData !== f0.userData ||
      c.accessKey !== f0.accessKey ||
      c.secretKey !== f0.secretKey ||
      c.securityToken !== f0.securityToken ||
      c.authToken !== f0.authToken
    ) {
      const f = {} as Record<string, unknown>;
      for (const k of FIXED_CONTEXT_KEYS) f[k] = c[k];
      fixed = f as typeof fixed;
      // Without its braces; empty when every field is undefined (JSON.stringify leaves them out).
      fixedJson = JSON.stringify(f).slice(1, -1);
    }
    // Sent even ahead of an invoke written whole (below): the runtime's base is then this
    // call's fixed part whichever it reads.
    if (sendBase && baseJson !== fixedJson) {
      baseJson = fixedJson;
      sendBase(`{"type":"context","context":{${fixedJson}}}`);
    }
    if (
      typeof m.id !== "string" ||
      typeof m.event !== "string" ||
      typeof c.requestId !== "string" ||
      typeof c.deadline !== "number" ||
      typeof c.headers !== "object" ||
      c.headers === null
    ) {
      return JSON.stringify(m);
    }
    let headers = "{}";
    for (const _ in c.headers) {
      headers = JSON.stringify(c.headers);
      break;
    }
    const deadline = Number.isFinite(c.deadline) ? String(c.deadline) : "null";
    return (
      `{"type":"invoke","id":${JSON.stringify(m.id)},"event":${JSON.stringify(m.event)},` +
      `"context":{"requestId":${JSON.stringify(c.requestId)},"deadline":${deadline},` +
      `"headers":${headers}${fixedJson && !sendBase ? "," + fixedJson : ""}}}`
    );
  };
}
