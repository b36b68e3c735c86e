import { Pool } from "undici";
import type { Dispatcher } from "undici";

/** What `<data>/credentials.json` holds (the fields the bench needs). */
export interface Credentials {
  endpoint: string;
  region: string;
  project_id: string;
  domain_name: string;
  user: string;
  password: string;
}

/** The anatomy the server reports in X-Cff-Invoke-Summary. */
export interface InvokeSummary {
  duration?: number;
  coldStart?: boolean;
  timings?: Record<string, number>;
}

export interface InvokeResponse {
  status: number;
  body: string;
  summary: InvokeSummary | undefined;
  /** Client-side wall time of the request, ms. */
  ms: number;
}

/** A thin FunctionGraph v2 client over undici, token-authenticated (contract §2.1). */
export interface FnApi {
  readonly token: string;
  readonly credentials: Credentials;
  /** Path of the invoke API for a function URN or name. */
  invokePath(urnOrName: string): string;
  createFunction(body: Record<string, unknown>): Promise<{ func_urn: string }>;
  updateConfig(urn: string, body: Record<string, unknown>): Promise<void>;
  deleteFunction(urn: string): Promise<void>;
  invoke(urnOrName: string, event: string): Promise<InvokeResponse>;
  health(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

async function readJson(res: Dispatcher.ResponseData, what: string): Promise<unknown> {
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${what}: HTTP ${res.statusCode}: ${text}`);
  return text ? (JSON.parse(text) as unknown) : {};
}

function header(res: Dispatcher.ResponseData, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Parse X-Cff-Invoke-Summary; absent or malformed → undefined (reported as missing). */
export function parseSummary(raw: string | undefined): InvokeSummary | undefined {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as InvokeSummary;
  } catch {
    return undefined;
  }
}

export async function createFnApi(credentials: Credentials): Promise<FnApi> {
  const pool = new Pool(credentials.endpoint, { connections: 4 });
  const tokenRes = await pool.request({
    method: "POST",
    path: "/v3/auth/tokens?nocatalog=true",
    headers: { "content-type": "application/json;charset=utf8" },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ["password"],
          password: {
            user: {
              name: credentials.user,
              password: credentials.password,
              domain: { name: credentials.domain_name },
            },
          },
        },
        scope: { project: { name: credentials.region } },
      },
    }),
  });
  await readJson(tokenRes, "POST /v3/auth/tokens");
  const token = header(tokenRes, "x-subject-token");
  if (!token) throw new Error("POST /v3/auth/tokens: no X-Subject-Token");
  const base = `/v2/${credentials.project_id}/fgs/functions`;
  const headers = { "content-type": "application/json", "x-auth-token": token };

  const invokePath = (urnOrName: string): string =>
    `${base}/${encodeURIComponent(urnOrName).replaceAll("%3A", ":")}/invocations`;

  return {
    token,
    credentials,
    invokePath,
    async createFunction(body) {
      const res = await pool.request({
        method: "POST",
        path: base,
        headers,
        body: JSON.stringify(body),
      });
      return (await readJson(res, `create ${String(body["func_name"])}`)) as { func_urn: string };
    },
    async updateConfig(urn, body) {
      const res = await pool.request({
        method: "PUT",
        path: `${base}/${urn}/config`,
        headers,
        body: JSON.stringify(body),
      });
      await readJson(res, `update config of ${urn}`);
    },
    async deleteFunction(urn) {
      // The whole function: its URN without the version qualifier.
      const unqualified = urn.replace(/:latest$/, "");
      const res = await pool.request({ method: "DELETE", path: `${base}/${unqualified}`, headers });
      await readJson(res, `delete ${urn}`);
    },
    async invoke(urnOrName, event) {
      const t0 = performance.now();
      const res = await pool.request({
        method: "POST",
        path: invokePath(urnOrName),
        headers,
        body: event,
      });
      const body = await res.body.text();
      const ms = performance.now() - t0;
      return {
        status: res.statusCode,
        body,
        summary: parseSummary(header(res, "x-cff-invoke-summary")),
        ms,
      };
    },
    async health() {
      const res = await pool.request({ method: "GET", path: "/healthz" });
      return (await readJson(res, "GET /healthz")) as Record<string, unknown>;
    },
    close: () => pool.close(),
  };
}
