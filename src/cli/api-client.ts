import { CliError } from "./errors.js";
import {
  parseErrorBody,
  toApiError,
  type Http,
  type HttpRequest,
  type HttpResponse,
} from "./http.js";

/** What `POST /v3/auth/tokens` gave back (contract §2.1). */
export interface TokenGrant {
  token: string;
  expiresAt: string;
  projectId: string;
  projectName: string;
  /** The raw response body. */
  body: Record<string, unknown>;
}

export interface PasswordLogin {
  user: string;
  password: string;
  domain: string;
  /** Scope: project id when known, else project name (= region). */
  projectId?: string;
  region?: string;
}

/** IAM password login, project-scoped. */
export async function requestToken(http: Http, login: PasswordLogin): Promise<TokenGrant> {
  const project = login.projectId ? { id: login.projectId } : { name: login.region ?? "" };
  const body = {
    auth: {
      identity: {
        methods: ["password"],
        password: {
          user: { name: login.user, password: login.password, domain: { name: login.domain } },
        },
      },
      scope: { project },
    },
  };
  const res = await http.send({
    method: "POST",
    path: "/v3/auth/tokens?nocatalog=true",
    headers: { "content-type": "application/json;charset=utf8" },
    body: Buffer.from(JSON.stringify(body)),
  });
  if (res.status === 401) {
    const { message } = parseErrorBody(res.text);
    throw new CliError(
      `credentials rejected by ${http.endpoint}: check user, password and domain${message ? ` (${message})` : ""}`,
    );
  }
  if (res.status !== 201 && res.status !== 200) throw toApiError(res);
  const token = res.headers["x-subject-token"];
  const parsed = parseJson(res);
  const t = (parsed["token"] ?? {}) as {
    expires_at?: string;
    project?: { id?: string; name?: string };
  };
  if (!token || !t.expires_at) {
    throw new CliError(`${http.endpoint} answered without a token: is it a fngraph server?`);
  }
  return {
    token,
    expiresAt: t.expires_at,
    projectId: t.project?.id ?? login.projectId ?? "",
    projectName: t.project?.name ?? login.region ?? "",
    body: parsed,
  };
}

/** Supplies the token and, when the server says 401, one renewed token to retry with. */
export interface TokenSource {
  current(): Promise<string>;
  /** A fresh token, or undefined when renewing is not possible. */
  renew(): Promise<string | undefined>;
}

/** A sync invocation's outcome (contract §1.5.1, response version v1). */
export interface InvokeOutcome {
  headers: Record<string, string>;
  /** The v1 envelope `{request_id, result, log, status}`. */
  body: Record<string, unknown>;
}

export interface FunctionApi {
  list(marker: number): Promise<Record<string, unknown>>;
  /** The config of `latest`, or undefined when the function does not exist (FSS.1051). */
  findConfig(urn: string): Promise<Record<string, unknown> | undefined>;
  getConfig(urn: string): Promise<Record<string, unknown>>;
  create(body: Record<string, unknown>, onProgress?: Progress): Promise<Record<string, unknown>>;
  updateCode(
    urn: string,
    body: Record<string, unknown>,
    onProgress?: Progress,
  ): Promise<Record<string, unknown>>;
  updateConfig(urn: string, body: Record<string, unknown>): Promise<Record<string, unknown>>;
  remove(urn: string): Promise<void>;
  invoke(urn: string, event: string, opts: { logTail: boolean }): Promise<InvokeOutcome>;
}

export type Progress = (sent: number, total: number) => void;

/** Function names and URNs go in the path raw (colons, `!`), as the SDK sends them. */
export function urnPath(urn: string): string {
  return encodeURIComponent(urn).replace(/%3A/gi, ":").replace(/%21/g, "!");
}

/** FunctionGraph v2 calls for one project, with the token from `tokens`. */
export function createFunctionApi(http: Http, projectId: string, tokens: TokenSource): FunctionApi {
  const base = `/v2/${encodeURIComponent(projectId)}/fgs/functions`;

  const send = async (req: HttpRequest): Promise<HttpResponse> => {
    const withToken = (token: string): HttpRequest => ({
      ...req,
      headers: { "content-type": "application/json", ...req.headers, "x-auth-token": token },
    });
    const res = await http.send(withToken(await tokens.current()));
    if (res.status !== 401) return res;
    const fresh = await tokens.renew();
    return fresh ? http.send(withToken(fresh)) : res;
  };
  const json = async (req: HttpRequest): Promise<Record<string, unknown>> => {
    const res = await send(req);
    if (res.status < 200 || res.status > 299) throw toApiError(res);
    return parseJson(res);
  };
  const jsonBody = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));

  return {
    list: (marker) => json({ method: "GET", path: `${base}?marker=${marker}&maxitems=400` }),
    async findConfig(urn) {
      const res = await send({ method: "GET", path: `${base}/${urnPath(urn)}/config` });
      if (res.status === 404 && parseErrorBody(res.text).code === "FSS.1051") return undefined;
      if (res.status < 200 || res.status > 299) throw toApiError(res);
      return parseJson(res);
    },
    getConfig: (urn) => json({ method: "GET", path: `${base}/${urnPath(urn)}/config` }),
    create: (body, onProgress) =>
      json({ method: "POST", path: base, body: jsonBody(body), ...progress(onProgress) }),
    updateCode: (urn, body, onProgress) =>
      json({
        method: "PUT",
        path: `${base}/${urnPath(urn)}/code`,
        body: jsonBody(body),
        ...progress(onProgress),
      }),
    updateConfig: (urn, body) =>
      json({ method: "PUT", path: `${base}/${urnPath(urn)}/config`, body: jsonBody(body) }),
    async remove(urn) {
      const res = await send({ method: "DELETE", path: `${base}/${urnPath(urn)}` });
      if (res.status < 200 || res.status > 299) throw toApiError(res);
    },
    async invoke(urn, event, opts) {
      const res = await send({
        method: "POST",
        path: `${base}/${urnPath(urn)}/invocations`,
        headers: {
          "x-cff-request-version": "v1",
          ...(opts.logTail ? { "x-cff-log-type": "tail" } : {}),
        },
        body: Buffer.from(event, "utf8"),
        longRunning: true,
      });
      if (res.status < 200 || res.status > 299) throw toApiError(res);
      return { headers: res.headers, body: parseJson(res) };
    },
  };
}

function progress(onProgress: Progress | undefined): { onProgress?: Progress } {
  return onProgress ? { onProgress } : {};
}

function parseJson(res: HttpResponse): Record<string, unknown> {
  try {
    const v = JSON.parse(res.text) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v))
      return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new CliError(`unexpected response (HTTP ${res.status}): ${res.text.slice(0, 200)}`);
}
