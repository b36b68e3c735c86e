import type { TriggerRecord } from "../types.js";

export const APIG_METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"] as const;

type Segment =
  | { kind: "literal"; value: string }
  | { kind: "param"; name: string }
  | { kind: "greedy"; name: string };

/** One APIG trigger's route on the gateway. */
export interface Route {
  trigger: TriggerRecord;
  method: string;
  matchMode: "NORMAL" | "SWA";
  segments: Segment[];
}

export interface RouteMatch {
  route: Route;
  pathParameters: Record<string, string>;
}

export type Lookup =
  | { kind: "found"; match: RouteMatch }
  | { kind: "method-not-allowed"; allow: string[] }
  | { kind: "not-found" };

const PARAM = /^\{([A-Za-z][A-Za-z0-9_-]{0,31})(\+?)\}$/;
const LITERAL = /^[A-Za-z0-9._~!$&'()*+,;=:@%-]+$/;

/** Split an API path (`/users/{id}/files/{rest+}`) into segments; undefined when invalid. */
export function parseRoutePath(path: string): Segment[] | undefined {
  if (!path.startsWith("/") || path.length > 1024) return undefined;
  if (path === "/") return [];
  const parts = path.slice(1).replace(/\/$/, "").split("/");
  const names = new Set<string>();
  const out: Segment[] = [];
  for (const [i, p] of parts.entries()) {
    const m = PARAM.exec(p);
    if (m) {
      const name = m[1]!;
      if (names.has(name)) return undefined;
      names.add(name);
      if (m[2] && i !== parts.length - 1) return undefined;
      out.push({ kind: m[2] ? "greedy" : "param", name });
    } else if (LITERAL.test(p) && !p.includes("{") && !p.includes("}")) {
      out.push({ kind: "literal", value: p });
    } else return undefined;
  }
  return out;
}

/** The shape two routes collide on: parameter names do not matter. */
export function routeShape(segments: Segment[]): string {
  return segments
    .map((s) => (s.kind === "literal" ? s.value : s.kind === "param" ? "{}" : "{+}"))
    .join("/");
}

const decode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

function matchPath(route: Route, parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  const segs = route.segments;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (s.kind === "greedy") {
      if (i >= parts.length) return undefined;
      params[s.name] = parts.slice(i).map(decode).join("/");
      return params;
    }
    const p = parts[i];
    if (p === undefined) return undefined;
    if (s.kind === "literal" ? decode(p) !== s.value : p === "") return undefined;
    if (s.kind === "param") params[s.name] = decode(p);
  }
  if (parts.length === segs.length) return params;
  if (route.matchMode !== "SWA") return undefined;
  // Prefix match: the rest of the path, as in APIG's `{"": "rest/of/path"}` sample.
  params[""] = parts.slice(segs.length).map(decode).join("/");
  return params;
}

/** Specificity: exact before prefix, more literal segments first, longer routes first. */
const score = (r: Route): number =>
  (r.matchMode === "NORMAL" ? 1_000_000 : 0) +
  r.segments.filter((s) => s.kind === "literal").length * 1000 +
  r.segments.length * 10 +
  (r.segments.some((s) => s.kind === "greedy") ? 0 : 1);

/** The gateway's routes, kept in memory and rebuilt from the store on start-up. */
export function createRouteTable() {
  const routes = new Map<string, Route>();
  return {
    set(route: Route): void {
      routes.set(route.trigger.id, route);
    },
    delete(triggerId: string): void {
      routes.delete(triggerId);
    },
    size: () => routes.size,
    lookup(method: string, path: string): Lookup {
      const clean = path.split("?")[0]!;
      const parts =
        clean === "/" || clean === "" ? [] : clean.slice(1).replace(/\/$/, "").split("/");
      const hits: RouteMatch[] = [];
      for (const route of routes.values()) {
        const pathParameters = matchPath(route, parts);
        if (pathParameters) hits.push({ route, pathParameters });
      }
      if (hits.length === 0) return { kind: "not-found" };
      hits.sort((a, b) => score(b.route) - score(a.route));
      const m = method.toUpperCase();
      const ok = hits.find(
        (h) =>
          h.route.method === "ANY" ||
          h.route.method === m ||
          (m === "HEAD" && h.route.method === "GET"),
      );
      if (ok) return { kind: "found", match: ok };
      const allow = [...new Set(hits.map((h) => h.route.method))].sort();
      return { kind: "method-not-allowed", allow };
    },
  };
}

export type RouteTable = ReturnType<typeof createRouteTable>;
