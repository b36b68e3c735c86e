import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { request } from "undici";
import yazl from "yazl";
import { loadConfig, type Config } from "../../src/core/config.js";
import { startPlatform, type Platform, type PlatformOptions } from "../../src/main.js";

export interface TestPlatform {
  platform: Platform;
  dataDir: string;
  endpoint: string;
  projectId: string;
  token: string;
  /** `/v2/{project}` + path. */
  v2(p: string): string;
  api(
    method: string,
    p: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: unknown;
  body: Buffer;
}

/** Start the real platform on port 0 with a temp data dir (and fetch a token). */
export async function startTestPlatform(
  overrides: Partial<Record<string, unknown>> = {},
  options: PlatformOptions = {},
): Promise<TestPlatform> {
  const dataDir =
    (overrides["dataDir"] as string | undefined) ??
    mkdtempSync(path.join(os.tmpdir(), "fngraph-test-"));
  const config: Config = loadConfig(
    {
      port: 0,
      gatewayPort: 0,
      dataDir,
      // FNGRAPH_TEST_LOG_LEVEL=error shows the platforms' own errors (the cause behind a 500).
      logLevel: process.env["FNGRAPH_TEST_LOG_LEVEL"] ?? "silent",
      // The real sandbox by default (tier A here and in CI); FNGRAPH_TEST_ISOLATION=C runs the
      // suite with plain processes on machines without bwrap or root.
      isolation: process.env["FNGRAPH_TEST_ISOLATION"] ?? "auto",
      keepAliveSeconds: 60,
      // No prewarmed runtimes unless a test asks: their instance ids and cgroups carry no
      // function name, which the hostile tests look for (test/api/scaling*.test.ts turn it on).
      prewarm: "",
      ...overrides,
    },
    {},
  );
  const platform = await startPlatform(config, options);
  const c = platform.credentials;
  const token = await getToken(c.endpoint, c.user, c.password, c.domain_name, c.region);
  const t: TestPlatform = {
    platform,
    dataDir,
    endpoint: c.endpoint,
    projectId: c.project_id,
    token,
    v2: (p) => `/v2/${c.project_id}${p}`,
    api: (method, p, body, headers = {}) =>
      call(c.endpoint, method, p, body, { "X-Auth-Token": token, ...headers }),
    close: async () => {
      await platform.close();
      if (!overrides["dataDir"]) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

export async function getToken(
  endpoint: string,
  user: string,
  password: string,
  domain: string,
  project: string,
): Promise<string> {
  const r = await call(endpoint, "POST", "/v3/auth/tokens", {
    auth: {
      identity: {
        methods: ["password"],
        password: { user: { name: user, password, domain: { name: domain } } },
      },
      scope: { project: { name: project } },
    },
  });
  if (r.status !== 201) throw new Error(`token request failed: ${r.status} ${r.text}`);
  return r.headers["x-subject-token"]!;
}

export async function call(
  endpoint: string,
  method: string,
  p: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const payload =
    body === undefined
      ? undefined
      : Buffer.isBuffer(body)
        ? body
        : typeof body === "string"
          ? body
          : JSON.stringify(body);
  const res = await request(endpoint + p, {
    method: method as "GET",
    headers: { "content-type": "application/json", ...headers },
    ...(payload !== undefined ? { body: payload } : {}),
  });
  const buf = Buffer.from(await res.body.arrayBuffer());
  const text = buf.toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers))
    if (v !== undefined) h[k] = Array.isArray(v) ? v.join(",") : v;
  return { status: res.statusCode, headers: h, text, json, body: buf };
}

/** A deterministic ZIP of in-memory files (name → content; mode 0755 when name ends with "*"). */
export async function zipFiles(files: Record<string, string | Buffer>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) {
    const exec = name.endsWith("*");
    zip.addBuffer(
      Buffer.isBuffer(content) ? content : Buffer.from(content),
      exec ? name.slice(0, -1) : name,
      {
        mtime: new Date(2000, 0, 1),
        mode: exec ? 0o100755 : 0o100644,
      },
    );
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A CreateFunction body for a ZIP of `files`. */
export async function createBody(
  name: string,
  runtime: string,
  files: Record<string, string | Buffer>,
  extra: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const zip = await zipFiles(files);
  return {
    func_name: name,
    package: "default",
    runtime,
    handler: "index.handler",
    memory_size: 128,
    timeout: 10,
    code_type: "zip",
    code_filename: "code.zip",
    func_code: { file: zip.toString("base64") },
    ...extra,
  };
}

/** Create a function through the API (CreateFunction with {@link createBody}); throws unless created. */
export async function deployFunction(
  t: Pick<TestPlatform, "api" | "v2">,
  name: string,
  runtime: string,
  files: Record<string, string | Buffer>,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const r = await t.api(
    "POST",
    t.v2("/fgs/functions"),
    await createBody(name, runtime, files, extra),
  );
  if (r.status !== 200) throw new Error(`create ${name}: ${r.status} ${r.text}`);
}

export const NODE_ECHO = {
  "index.js": `exports.handler = async (event, context) => {
  console.log("echo", JSON.stringify(event));
  return { event, name: context.getFunctionName(), version: context.getVersion(), requestId: context.getRequestID() };
};`,
};

export const PY_ECHO = {
  "index.py": `import json
def handler(event, context):
    print("echo", json.dumps(event))
    return {"event": event, "name": context.getFunctionName(), "version": context.getVersion()}
`,
};

/**
 * A ZIP with entry names yazl refuses to write (`../x`, `/etc/x`): each hostile name is written
 * as a same-length placeholder, then patched in place in the local and central headers.
 */
export async function hostileZip(files: Record<string, string | Buffer>): Promise<Buffer> {
  const placeholders = new Map<string, string>();
  const safe: Record<string, string | Buffer> = {};
  let i = 0;
  for (const [name, content] of Object.entries(files)) {
    const hostile = name.startsWith("/") || name.split("/").includes("..");
    if (!hostile) {
      safe[name] = content;
      continue;
    }
    const ph = `${String(i++).padStart(2, "0")}${"q".repeat(Math.max(0, name.length - 2))}`;
    placeholders.set(ph, name);
    safe[ph] = content;
  }
  const buf = await zipFiles(safe);
  for (const [ph, name] of placeholders) {
    const from = Buffer.from(ph);
    const to = Buffer.from(name);
    let at = buf.indexOf(from);
    while (at >= 0) {
      to.copy(buf, at);
      at = buf.indexOf(from, at + 1);
    }
  }
  return buf;
}

/** The files of test/fixtures/functions/<name> as a name → content map. */
export function fixtureFiles(name: string): Record<string, Buffer> {
  const root = path.join(import.meta.dirname, "..", "fixtures", "functions", name);
  const out: Record<string, Buffer> = {};
  const walk = (dir: string, prefix: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(dir, e.name), rel);
      else out[rel] = readFileSync(path.join(dir, e.name));
    }
  };
  walk(root, "");
  return out;
}
