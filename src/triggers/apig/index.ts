import { randomBytes } from "node:crypto";
import { z } from "zod";
import { FsError } from "../../core/errors.js";
import { compact, looseInt, parseEventData } from "../event-data.js";
import type { TriggerKind, TriggerRecord, TriggerSource, TriggerType } from "../types.js";
import { parseRoutePath, routeShape, type RouteTable } from "./route-table.js";

export { buildApigEvent, toApigResponse, type ApigResponse, type GatewayRequest } from "./event.js";
export { createRouteTable, type Lookup, type Route, type RouteTable } from "./route-table.js";

/** Contract §5: a call through APIG ends after 90 s whatever `func_info.timeout` says. */
export const APIG_MAX_TIMEOUT_MS = 90_000;
/** Sync request payload (contract §5). */
export const APIG_MAX_BODY_BYTES = 6 * 1024 * 1024;

const METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS", "ANY"] as const;

const apigData = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z\u4e00-\u9fa5][A-Za-z0-9_\u4e00-\u9fa5]{2,63}$/, "3-64 letters, digits or _")
      .optional(),
    group_id: z.string().max(64).optional(),
    group_name: z.string().max(64).optional(),
    env_id: z.string().max(64).optional(),
    env_name: z.string().max(64).optional(),
    auth: z.enum(["IAM", "APP", "NONE"]).default("IAM"),
    protocol: z.enum(["HTTP", "HTTPS"]).default("HTTP"),
    path: z.string().min(1).max(1024),
    match_mode: z.enum(["SWA", "NORMAL"]).default("NORMAL"),
    req_method: z.enum(METHODS).default("ANY"),
    backend_type: z.literal("FUNCTION").default("FUNCTION"),
    type: looseInt.pipe(z.union([z.literal(1), z.literal(2)])).default(1),
    sl_domain: z.string().min(1).max(255).optional(),
    instance_id: z.string().max(64).optional(),
    func_info: z
      .object({
        function_urn: z.string().optional(),
        invocation_type: z.enum(["sync", "async"]).default("sync"),
        // The contract says 1..60000 ms; APIG's own end-to-end cap is 90 s, so we allow up to it.
        timeout: looseInt.pipe(z.number().min(1).max(APIG_MAX_TIMEOUT_MS)).default(5000),
        version: z.string().optional(),
      })
      .loose()
      .default({ invocation_type: "sync", timeout: 5000 }),
  })
  .loose();

const hex = (bytes: number): string => randomBytes(bytes).toString("hex");

/** The gateway serves these three types alike (contract §1.7). */
const GATEWAY_TYPES: readonly TriggerType[] = ["APIG", "DEDICATEDGATEWAY", "APIC"];

/** The APIG TriggerSource: an ACTIVE trigger is a route in the gateway's table. */
export function createApigSource(table: RouteTable): TriggerSource {
  return {
    start: async (t) => {
      const segments = parseRoutePath(String(t.eventData["path"]));
      if (!segments) throw new Error(`stored APIG trigger ${t.id} has an invalid path`);
      table.set({
        trigger: t,
        method: String(t.eventData["req_method"]),
        matchMode: t.eventData["match_mode"] === "SWA" ? "SWA" : "NORMAL",
        segments,
      });
    },
    stop: async (id) => table.delete(id),
    close: async () => undefined,
  };
}

function clash(c: TriggerRecord, o: TriggerRecord): FsError | undefined {
  if (!GATEWAY_TYPES.includes(o.type as TriggerType) || o.id === c.id) return undefined;
  const shape = (t: TriggerRecord) => routeShape(parseRoutePath(String(t.eventData["path"])) ?? []);
  const [m1, m2] = [c.eventData["req_method"], o.eventData["req_method"]];
  if (
    shape(c) === shape(o) &&
    c.eventData["match_mode"] === o.eventData["match_mode"] &&
    (m1 === m2 || m1 === "ANY" || m2 === "ANY")
  ) {
    return new FsError(
      "APIG_PATH_EXISTS",
      `${String(m1)} ${String(c.eventData["path"])} is already served by trigger ${o.id}`,
    );
  }
  return undefined;
}

/** APIG, DEDICATEDGATEWAY and APIC kinds; `endpoint()` is the gateway's base URL. */
export function apigKinds(source: TriggerSource, endpoint: () => string): TriggerKind[] {
  return GATEWAY_TYPES.map((type) => ({
    type,
    defaultStatus: "ACTIVE",
    parse: (data, ctx) => {
      const d = parseEventData(apigData, data, "INVALID_APIG_TRIGGER");
      const path = d.path.length > 1 ? d.path.replace(/\/$/, "") : d.path;
      if (!parseRoutePath(path)) {
        throw new FsError(
          "INVALID_APIG_TRIGGER",
          `event_data.path must start with / and hold literal segments or {param} ({param+} last): ${d.path}`,
        );
      }
      const name = d.name ?? `API_${ctx.fn.name.replace(/-/g, "_")}`.slice(0, 64);
      const internal: Record<string, unknown> = { api_id: hex(16) };
      if (d.auth === "APP") {
        internal["app_key"] = hex(16);
        internal["app_secret"] = hex(32);
        internal["app_code"] = hex(32);
      }
      return {
        eventData: compact({
          ...d,
          name,
          path,
          group_id: d.group_id ?? "default",
          group_name: d.group_name ?? "APIGroup_default",
          env_id: d.env_id ?? "DEFAULT_ENVIRONMENT_RELEASE_ID",
          env_name: d.env_name ?? "RELEASE",
        }),
        internal,
      };
    },
    conflict: clash,
    present: (t) =>
      compact({
        triggerid: t.id,
        api_id: t.internal["api_id"],
        api_name: t.eventData["name"],
        invoke_url: `${endpoint()}${String(t.eventData["path"])}`,
        app_key: t.internal["app_key"],
        app_secret: t.internal["app_secret"],
        app_code: t.internal["app_code"],
      }),
    source,
  }));
}
