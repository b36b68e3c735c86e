"use strict";
// fngraph shim for bootstrap-started functions. Runs INSIDE the sandbox: imports nothing from the
// host code. Speaks the instance protocol (src/runtimes/PROTOCOL.md) on fd 3 and starts the
// package's executable `bootstrap` (cwd = RUNTIME_CODE_ROOT, env = contract §3.4). Two modes:
//   custom: serves the runtime API of contract §3.8 on RUNTIME_API_ADDR (127.0.0.1:<port>) —
//           the bootstrap long-polls GET /v1/runtime/invocation/request and POSTs the result;
//   http:   the bootstrap's server on 127.0.0.1:8000 gets each invocation as a real HTTP request
//           (APIG event → request, response → APIG result with base64 body), contract §3.10.
// stdout/stderr of the bootstrap are the function's logs.

// The heap limit (`--max-old-space-size`) is applied when V8 sets up the heap; set back to its
// default now, so that node's built-ins load from its code cache (as in the Node.js shim,
// src/runtimes/nodejs/shim/runtime.cjs).
const quiet = process.noDeprecation;
process.noDeprecation = true;
try {
  process.binding("v8").setFlagsFromString("--max-old-space-size=0");
} catch {
  require("v8").setFlagsFromString("--max-old-space-size=0");
} finally {
  process.noDeprecation = quiet;
}

const net = require("net");
const fs = require("fs");
const http = require("http");
const { URLSearchParams } = require("url");
const path = require("path");
const { spawn } = require("child_process");

const MODE = process.argv[2] === "http" ? "http" : "custom";
const HTTP_PORT = 8000;
const API_PREFIX = "/v1/runtime/invocation/";

// Milliseconds, monotonic. Not performance.now(): the first use of `performance` loads node's
// perf_hooks internals (~0.7 ms), and in a fresh runtime that was its first call's.
function nowMs() {
  const t = process.hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
}

const channel = new net.Socket({ fd: 3, readable: true, writable: true });

function send(msg) {
  const body = Buffer.from(JSON.stringify(msg), "utf8");
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(body.length, 0);
  channel.write(Buffer.concat([header, body], 4 + body.length));
}

// ---- frame decoding -------------------------------------------------------------------------
let chunks = [];
let total = 0;
let need = -1;
function take(n) {
  const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  chunks = n < all.length ? [all.subarray(n)] : [];
  total -= n;
  return all.subarray(0, n);
}
channel.on("data", (chunk) => {
  chunks.push(chunk);
  total += chunk.length;
  for (;;) {
    if (need < 0) {
      if (total < 4) return;
      need = take(4).readUInt32BE(0);
    }
    if (total < need) return;
    const text = take(need).toString("utf8");
    need = -1;
    let msg;
    try {
      msg = JSON.parse(text);
    } catch (err) {
      process.stderr.write(`fngraph runtime: bad frame: ${err}\n`);
      continue;
    }
    if (msg.type === "load") onLoad(msg);
    else if (msg.type === "invoke") onInvoke(msg);
  }
});

let child;
function shutdown(code) {
  // kill() does not throw: a child already gone is ESRCH, returned as false.
  if (child && child.exitCode === null) child.kill("SIGKILL");
  process.exit(code);
}
// EOF on fd 3: the host is done with this instance.
channel.on("end", () => shutdown(0));
channel.on("error", () => shutdown(0));

// ---- load: check and start the bootstrap ----------------------------------------------------
let loaded = false;
function loadError(message, type) {
  send({
    type: "load_error",
    errorCode: 4001,
    error: { errorMessage: `function entry exception, error: ${message}`, errorType: type },
  });
}

function onLoad(msg) {
  Object.assign(process.env, msg.env);
  const root = process.env.RUNTIME_CODE_ROOT || "/opt/function/code";
  try {
    process.chdir(root);
  } catch {
    // the bootstrap check below reports it
  }
  const bootstrap = path.join(root, "bootstrap");
  let st;
  try {
    st = fs.statSync(bootstrap);
  } catch {
    return loadError(`the code package has no bootstrap file at ${bootstrap}`, "BootstrapNotFound");
  }
  try {
    if (!st.isFile()) throw new Error("not a file");
    fs.accessSync(bootstrap, fs.constants.X_OK);
  } catch {
    return loadError(`${bootstrap} is not an executable file`, "BootstrapNotExecutable");
  }
  const start = () => {
    try {
      child = spawn(bootstrap, [], {
        cwd: root,
        env: process.env,
        stdio: ["ignore", "inherit", "inherit"],
      });
    } catch (err) {
      return loadError(`bootstrap could not start: ${err.message}`, "BootstrapStartError");
    }
    child.on("error", (err) => {
      if (!loaded) loadError(`bootstrap could not start: ${err.message}`, "BootstrapStartError");
    });
    child.on("exit", (code, signal) => {
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      if (!loaded) {
        loadError(`bootstrap exited before it was ready (${how})`, "BootstrapExitError");
        return;
      }
      process.stderr.write(`fngraph runtime: bootstrap exited (${how})\n`);
      shutdown(1);
    });
    if (MODE === "http") waitForPort();
  };
  if (MODE === "custom") startApi(start);
  else start();
}

function markLoaded() {
  if (loaded) return;
  loaded = true;
  send({ type: "loaded" });
}

// ---- custom: the runtime API ----------------------------------------------------------------
const queue = []; // invocations not yet handed out
const waiting = []; // GET requests waiting for one
const inflight = new Map(); // request id → invocation

function startApi(then) {
  const server = http.createServer(onApiRequest);
  server.requestTimeout = 0;
  server.timeout = 0;
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => {
    process.env.RUNTIME_API_ADDR = `127.0.0.1:${server.address().port}`;
    then();
  });
}

function onApiRequest(req, res) {
  const url = req.url || "";
  if (req.method === "GET" && url === `${API_PREFIX}request`) {
    markLoaded();
    const inv = queue.shift();
    if (inv) return handOut(inv, res);
    waiting.push(res);
    res.on("close", () => {
      const i = waiting.indexOf(res);
      if (i >= 0) waiting.splice(i, 1);
    });
    return;
  }
  const m = /^\/v1\/runtime\/invocation\/(response|error)\/([^/?]+)$/.exec(url);
  if (req.method === "POST" && m) {
    const body = [];
    req.on("data", (c) => body.push(c));
    req.on("end", () => {
      const inv = inflight.get(decodeURIComponent(m[2]));
      if (!inv) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ errorMessage: "unknown request id" }));
        return;
      }
      inflight.delete(inv.requestId);
      const text = Buffer.concat(body).toString("utf8");
      if (m[1] === "response") reply(inv, { ok: true, result: text });
      else reply(inv, { ok: false, errorCode: 4002, error: toErrorPayload(text) });
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
    return;
  }
  res.writeHead(404, { "content-type": "application/json" });
  res.end(JSON.stringify({ errorMessage: `no such runtime API: ${req.method} ${url}` }));
}

function toErrorPayload(text) {
  try {
    const o = JSON.parse(text);
    if (o && typeof o === "object" && !Array.isArray(o)) {
      return {
        errorMessage: typeof o.errorMessage === "string" ? o.errorMessage : text,
        errorType: typeof o.errorType === "string" ? o.errorType : "FunctionError",
        ...(Array.isArray(o.stackTrace) ? { stackTrace: o.stackTrace.map(String) } : {}),
      };
    }
  } catch {
    // not JSON: the text is the message
  }
  return { errorMessage: text, errorType: "FunctionError" };
}

function handOut(inv, res) {
  inflight.set(inv.requestId, inv);
  inv.start = nowMs();
  const c = inv.context;
  const headers = {
    "Content-Type": "application/json",
    "X-Cff-Request-Id": inv.requestId,
    "X-CFF-Invoke-Type": c.invokeType,
    "X-CFF-Access-Key": c.accessKey,
    "X-CFF-Secret-Key": c.secretKey,
    "X-CFF-Auth-Token": c.authToken,
    "X-CFF-Security-Access-Key": (c.headers || {})["x-cff-security-access-key"] || c.accessKey,
    "X-CFF-Security-Secret-Key": (c.headers || {})["x-cff-security-secret-key"] || c.secretKey,
    "X-CFF-Security-Token": c.securityToken,
    "X-Cff-Origin-Version-Tag": c.alias ? `!${c.alias}` : c.version,
    // fngraph extension: when the call must be finished (epoch ms), for getRemainingTime.
    "X-Cff-Deadline-Ms": String(c.deadline),
  };
  for (const k of ["x-cff-workflow-id", "x-cff-workflow-run-id", "x-cff-workflow-state-id"]) {
    const v = (c.headers || {})[k];
    if (v) headers[k] = v;
  }
  res.writeHead(200, headers);
  res.end(inv.event);
}

// ---- http: the bootstrap's server on 127.0.0.1:8000 -----------------------------------------
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function waitForPort() {
  const tryOnce = () => {
    if (loaded || !child || child.exitCode !== null) return;
    const s = net.connect(HTTP_PORT, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      markLoaded();
    });
    s.once("error", () => {
      s.destroy();
      setTimeout(tryOnce, 5);
    });
  };
  tryOnce();
}

const DROPPED = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
]);

function toHttpRequest(event, c) {
  let e;
  try {
    e = JSON.parse(event);
  } catch {
    e = undefined;
  }
  const headers = {};
  let method = "POST";
  let target = "/";
  let body = Buffer.from(event, "utf8");
  if (e && typeof e === "object" && !Array.isArray(e) && typeof e.httpMethod === "string") {
    method = e.httpMethod.toUpperCase();
    const p = typeof e.path === "string" && e.path.startsWith("/") ? e.path : "/";
    const qs = new URLSearchParams();
    const q = e.queryStringParameters;
    if (q && typeof q === "object") {
      for (const [k, v] of Object.entries(q)) {
        for (const one of Array.isArray(v) ? v : [v]) qs.append(k, String(one));
      }
    }
    target = encodeURI(p) + (qs.size > 0 ? `?${qs}` : "");
    if (e.headers && typeof e.headers === "object") {
      for (const [k, v] of Object.entries(e.headers)) {
        if (!DROPPED.has(k.toLowerCase()) && v !== undefined && v !== null) headers[k] = String(v);
      }
    }
    const b = e.body;
    if (b === undefined || b === null) body = Buffer.alloc(0);
    else if (typeof b !== "string") body = Buffer.from(JSON.stringify(b), "utf8");
    else body = e.isBase64Encoded === false ? Buffer.from(b, "utf8") : Buffer.from(b, "base64");
  } else {
    headers["content-type"] = "application/json";
  }
  const env = process.env;
  Object.assign(headers, {
    "X-CFF-Request-Id": c.requestId,
    "X-CFF-Memory": String(c.memorySize),
    "X-CFF-Timeout": String(c.timeoutSeconds),
    "X-CFF-Func-Version": c.version,
    "X-CFF-Func-Name": c.functionName,
    "X-CFF-Project-Id": c.projectId,
    "X-CFF-Package": c.package,
    "X-CFF-Region": (c.headers || {})["x-cff-region"] || env.RUNTIME_REGION || "",
    "Content-Length": String(body.length),
    Host: `127.0.0.1:${HTTP_PORT}`,
  });
  const auth = {
    "X-CFF-Auth-Token": c.authToken,
    "X-CFF-Security-Access-Key": c.accessKey,
    "X-CFF-Security-Secret-Key": c.secretKey,
    "X-CFF-Security-Token": c.securityToken,
  };
  for (const [k, v] of Object.entries(auth)) if (v) headers[k] = v;
  return { method, target, headers, body };
}

function proxy(inv) {
  inv.start = nowMs();
  const r = toHttpRequest(inv.event, inv.context);
  const req = http.request(
    {
      host: "127.0.0.1",
      port: HTTP_PORT,
      method: r.method,
      path: r.target,
      headers: r.headers,
      agent,
    },
    (res) => {
      const parts = [];
      res.on("data", (c) => parts.push(c));
      res.on("end", () => {
        const headers = {};
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          const k = res.rawHeaders[i];
          (headers[k] ??= []).push(res.rawHeaders[i + 1]);
        }
        const result = {
          body: Buffer.concat(parts).toString("base64"),
          headers,
          statusCode: res.statusCode,
          isBase64Encoded: true,
        };
        reply(inv, { ok: true, result: JSON.stringify(result) });
      });
      res.on("error", (err) => failHttp(inv, err));
    },
  );
  req.on("error", (err) => failHttp(inv, err));
  req.end(r.body);
}

function failHttp(inv, err) {
  reply(inv, {
    ok: false,
    errorCode: 4002,
    error: {
      errorMessage: `the function's HTTP server on 127.0.0.1:${HTTP_PORT} failed: ${err.message}`,
      errorType: "HttpServerError",
    },
  });
}

// ---- invocations ----------------------------------------------------------------------------
function onInvoke(msg) {
  const inv = {
    id: msg.id,
    requestId: String(msg.context.requestId || msg.id),
    event: msg.event,
    context: msg.context,
    start: nowMs(),
    done: false,
  };
  if (MODE === "http") return proxy(inv);
  // Two calls with the same request id (a retried async call, say) must not collide.
  if (inflight.has(inv.requestId) || queue.some((q) => q.requestId === inv.requestId)) {
    inv.requestId = `${inv.requestId}-${msg.id}`;
  }
  const res = waiting.shift();
  if (res) handOut(inv, res);
  else queue.push(inv);
}

function reply(inv, fields) {
  if (inv.done) return;
  inv.done = true;
  // maxRssKb 0: the host takes the cgroup's peak for the whole tree (bootstrap included).
  send({
    type: "result",
    id: inv.id,
    ...fields,
    durationMs: nowMs() - inv.start,
    maxRssKb: 0,
  });
}

send({ type: "ready" });
