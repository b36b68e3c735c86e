"use strict";
// fngraph Node.js runtime shim. Runs INSIDE the sandbox: imports nothing from the host code.
// Speaks the instance protocol (src/runtimes/PROTOCOL.md) on fd 3: 4-byte big-endian length +
// UTF-8 JSON per frame. stdout/stderr belong to the function.

// The heap limit the host starts node with (`--max-old-space-size`) is applied when V8 sets up
// the heap, before this line. Left set, it changes V8's flag hash, and node then refuses the code
// cache of its built-in modules that ships in its binary: every built-in the shim or the function
// loads would be compiled from source (~10 ms per start). Set back to its default here, the heap
// keeps its limit and the code cache matches again (docs/runtimes.md, "The heap limit and node's
// code cache"). Through node's V8 binding (below), not require("v8"): with the flag still set,
// that module alone compiles for ~12 ms.
//
// V8's flags and heap figures through that binding, read as lib/v8.js reads them: require("v8")
// costs every start ~1.5 ms even with the code cache. Where the binding is not what this
// expects, the module it is.
const v8 = (() => {
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  try {
    const b = process.binding("v8");
    const stats = b.heapStatisticsBuffer;
    if (
      typeof b.setFlagsFromString === "function" &&
      typeof b.updateHeapStatisticsBuffer === "function" &&
      stats instanceof Float64Array &&
      typeof b.kTotalHeapSizeIndex === "number" &&
      typeof b.kExternalMemoryIndex === "number"
    ) {
      return {
        setFlagsFromString: (flags) => b.setFlagsFromString(flags),
        heapBytes() {
          b.updateHeapStatisticsBuffer();
          return stats[b.kTotalHeapSizeIndex] + stats[b.kExternalMemoryIndex];
        },
      };
    }
  } catch {
    // no binding: the module below
  } finally {
    process.noDeprecation = quiet;
  }
  const mod = require("v8");
  return {
    setFlagsFromString: (flags) => mod.setFlagsFromString(flags),
    heapBytes() {
      const h = mod.getHeapStatistics();
      return h.total_heap_size + h.external_memory;
    },
  };
})();
v8.setFlagsFromString("--max-old-space-size=0");

// One file: a second one the shim required cost every start ~0.4 ms (node's module loading).
const fs = require("fs");
const path = require("path");
const util = require("util");

// Milliseconds, monotonic. Not performance.now(): the first use of `performance` loads node's
// perf_hooks internals (~0.7 ms), and a fresh runtime's first use was its first call's.
function nowMs() {
  const t = process.hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
}

// ---- context --------------------------------------------------------------------------------
const LEVELS = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 };

function makeLogger(requestId) {
  let min = LEVELS.INFO;
  const line = (level) =>
    function () {
      if (LEVELS[level] < min) return;
      const text = util.format.apply(null, arguments);
      process.stdout.write(`${new Date().toISOString()} ${requestId} ${level} ${text}\n`);
    };
  return {
    debug: line("DEBUG"),
    info: line("INFO"),
    warn: line("WARN"),
    error: line("ERROR"),
    log: line("INFO"),
    setLevel(level) {
      const key = String(level).toUpperCase();
      if (key in LEVELS) min = LEVELS[key];
    },
  };
}

// `c`: the call's context; `b`: where its fixed fields are (PROTOCOL.md, `context`), `c` itself
// unless the host sent them ahead.
function makeContext(c, b = c) {
  const h = c.headers || {};
  const ud = b.userData || {};
  let logger;
  return {
    getRequestID: () => c.requestId,
    getRemainingTimeInMilliSeconds: () => Math.max(0, c.deadline - Date.now()),
    getRunningTimeInSeconds: () => b.timeoutSeconds,
    getAccessKey: () => b.accessKey,
    getSecretKey: () => b.secretKey,
    getSecurityAccessKey: () => h["x-cff-security-access-key"] || b.accessKey,
    getSecuritySecretKey: () => h["x-cff-security-secret-key"] || b.secretKey,
    getSecurityToken: () => b.securityToken,
    getToken: () => b.authToken,
    getUserData: (key) => (Object.prototype.hasOwnProperty.call(ud, key) ? ud[key] : undefined),
    getFunctionName: () => b.functionName,
    getVersion: () => b.version,
    getMemorySize: () => b.memorySize,
    getCPUNumber: () => b.cpuMillicores,
    getProjectID: () => b.projectId,
    getPackage: () => b.package,
    getAlias: () => b.alias,
    getInvokeType: () => b.invokeType,
    getLogger: () => (logger = logger || makeLogger(c.requestId)),
    getWorkflowID: () => h["x-cff-workflow-id"] || "",
    getWorkflowRunID: () => h["x-cff-workflow-run-id"] || "",
    getWorkflowStateID: () => h["x-cff-workflow-state-id"] || "",
  };
}

/** The initializer's context: no request, data taken from the §3.4 environment. */
function initContext(timeoutMs) {
  const env = process.env;
  let userData = {};
  try {
    userData = JSON.parse(env.RUNTIME_USERDATA || "{}") || {};
  } catch {
    userData = {};
  }
  return makeContext({
    requestId: "",
    functionName: env.RUNTIME_FUNC_NAME || "",
    version: env.RUNTIME_FUNC_VERSION || "",
    alias: env.RUNTIME_ALIAS || "",
    package: env.RUNTIME_PACKAGE || "",
    projectId: env.RUNTIME_PROJECT_ID || "",
    memorySize: Number(env.RUNTIME_MEMORY) || 0,
    cpuMillicores: Number(env.RUNTIME_CPU) || 0,
    timeoutSeconds: Number(env.RUNTIME_TIMEOUT) || 0,
    deadline: Date.now() + timeoutMs,
    invokeType: "sync",
    userData,
    accessKey: "",
    secretKey: "",
    securityToken: "",
    authToken: "",
    headers: {},
  });
}

// ---- loading --------------------------------------------------------------------------------
function isTypeModule(dir) {
  for (;;) {
    let text;
    try {
      text = fs.readFileSync(path.join(dir, "package.json"), "utf8");
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      try {
        return JSON.parse(text).type === "module";
      } catch {
        return false;
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return false;
    dir = up;
  }
}

async function loadModule(root, file) {
  const base = path.resolve(root, file);
  const exts = [".js", ".mjs", ".cjs", ""];
  const ext = exts.find((e) => {
    try {
      return fs.statSync(base + e).isFile();
    } catch {
      return false;
    }
  });
  if (ext === undefined) {
    const err = new Error(`Cannot find module '${file}' in ${root}`);
    err.code = "MODULE_NOT_FOUND";
    throw err;
  }
  const full = base + ext;
  if (ext === ".mjs" || (ext === ".js" && isTypeModule(path.dirname(full)))) {
    const { pathToFileURL } = require("url");
    return import(pathToFileURL(full).href);
  }
  return require(full);
}

function splitHandler(handler) {
  const i = handler.lastIndexOf(".");
  if (i <= 0 || i === handler.length - 1) {
    throw new Error(`handler '${handler}' is not of the form <file>.<function>`);
  }
  return [handler.slice(0, i), handler.slice(i + 1)];
}

async function resolveFunction(root, handler) {
  const [file, name] = splitHandler(handler);
  const mod = await loadModule(root, file);
  let fn = mod && mod[name];
  if (fn === undefined && mod && mod.default && typeof mod.default === "object") {
    fn = mod.default[name];
  }
  if (typeof fn !== "function") {
    throw new TypeError(`'${name}' exported by '${file}' is not a function (${typeof fn})`);
  }
  return fn;
}

// ---- memory ---------------------------------------------------------------------------------
function heapKb() {
  return v8.heapBytes() / 1024;
}

// Peak RSS since the last clear_refs write (the kernel resets the high-water mark getrusage reads).
function maxRssKb() {
  return process.resourceUsage().maxRSS;
}

// Garbage a call leaves behind (Buffers above all) stays until V8 feels heap pressure, which
// external memory rarely causes, so the next call's peak (the cgroup's figure, reset before it)
// would still include it. After a call that grew the RSS by at least GC_GROWTH_KB, collect
// before replying and give V8's background sweeper up to GC_WAIT_MS to return the freed backing
// stores to the kernel. Small calls pay nothing. The wait covers one CFS period (100 ms): a call
// that used up the instance's CPU quota leaves the sweeper thread throttled until the next one
// (30 ms let a 60 MB call's leftovers into the next call's peak in 2 of 6 loaded CI runs).
const GC_GROWTH_KB = 32 * 1024;
const RSS_CHECK_MIN_MS = 1;
const GC_WAIT_MS = 120;
let collectGarbage;
async function releaseGarbage(baseKb) {
  if (collectGarbage === undefined) {
    try {
      // A gc function in a separate context: user code keeps its global scope without `gc`.
      v8.setFlagsFromString("--expose-gc");
      collectGarbage = require("vm").runInNewContext("gc");
    } catch {
      collectGarbage = null;
    } finally {
      // The function keeps working; the flag, left set, would change V8's flag hash, and node
      // would refuse its built-ins' code cache again (runtime.cjs, the heap flag's reset).
      v8.setFlagsFromString("--no-expose-gc");
    }
  }
  if (!collectGarbage) return;
  collectGarbage();
  const target = (baseKb + GC_GROWTH_KB / 2) * 1024;
  const until = nowMs() + GC_WAIT_MS;
  while (process.memoryUsage.rss() > target && nowMs() < until) {
    await new Promise((r) => setTimeout(r, 2));
  }
}

// ---- the channel (fd 3) ---------------------------------------------------------------------
// libuv's pipe handle, driven as lib/net.js drives it: a net.Socket would cost every start ~3 ms
// (require("net") and the stream modules 1.8 ms, the socket 0.8 ms, its first write 0.5 ms) for
// nothing the shim uses. Where node's bindings are not what this expects, a net.Socket it is.
function openChannel(onChunk, onClose) {
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  let bindings;
  try {
    bindings = { pipe: process.binding("pipe_wrap"), stream: process.binding("stream_wrap") };
  } catch {
    bindings = undefined;
  } finally {
    process.noDeprecation = quiet;
  }
  const pipe = bindings && bindings.pipe;
  const stream = bindings && bindings.stream;
  const usable =
    pipe &&
    typeof pipe.Pipe === "function" &&
    pipe.constants &&
    typeof pipe.Pipe.prototype.writeBuffer === "function" &&
    typeof pipe.Pipe.prototype.readStart === "function" &&
    typeof stream.WriteWrap === "function" &&
    stream.streamBaseState instanceof Int32Array &&
    typeof stream.kReadBytesOrError === "number" &&
    typeof stream.kArrayBufferOffset === "number" &&
    typeof stream.kLastWriteWasAsync === "number";
  if (!usable) return netChannel(onChunk, onClose);
  const state = stream.streamBaseState;
  const handle = new pipe.Pipe(pipe.constants.SOCKET);
  if (handle.open(3) !== 0) {
    handle.close();
    return netChannel(onChunk, onClose);
  }
  // Called with the bytes read, or with nothing at EOF or on an error (a negative count).
  handle.onread = (arrayBuffer) => {
    const n = state[stream.kReadBytesOrError];
    if (n > 0) onChunk(Buffer.from(arrayBuffer, state[stream.kArrayBufferOffset], n));
    else if (n < 0) onClose();
  };
  if (handle.readStart() !== 0) onClose();
  // Writes libuv could not finish at once: each keeps its buffer until it completes.
  const inFlight = new Set();
  return (buf) => {
    const req = new stream.WriteWrap();
    req.handle = handle;
    req.buffer = buf;
    req.async = false;
    req.oncomplete = (status) => {
      inFlight.delete(req);
      if (status < 0) onClose();
    };
    if (handle.writeBuffer(req, buf) !== 0) onClose();
    else if (state[stream.kLastWriteWasAsync]) inFlight.add(req);
  };
}

function netChannel(onChunk, onClose) {
  const socket = new (require("net").Socket)({ fd: 3, readable: true, writable: true });
  socket.on("data", onChunk);
  socket.on("end", onClose);
  socket.on("error", onClose);
  return (buf) => socket.write(buf);
}

// Buffer's own UTF-8 methods where node has them: the public wrappers (toString, write, the
// readUInt32BE beside them) parse their arguments in JS that is compiled on its first call, ~0.15 ms
// of every start's first frames.
const utf8Text =
  typeof Buffer.prototype.utf8Slice === "function"
    ? (b) => b.utf8Slice(0, b.length)
    : (b) => b.toString("utf8");
const utf8Into =
  typeof Buffer.prototype.utf8Write === "function"
    ? (b, text, at, n) => b.utf8Write(text, at, n)
    : (b, text, at, n) => b.write(text, at, n, "utf8");

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
function onChunk(chunk) {
  chunks.push(chunk);
  total += chunk.length;
  for (;;) {
    if (need < 0) {
      if (total < 4) return;
      const h = take(4);
      need = h[0] * 0x1000000 + ((h[1] << 16) | (h[2] << 8) | h[3]);
    }
    if (total < need) return;
    const text = utf8Text(take(need));
    need = -1;
    let msg;
    try {
      msg = JSON.parse(text);
    } catch (err) {
      process.stderr.write(`fngraph runtime: bad frame: ${err}\n`);
      continue;
    }
    dispatch(msg);
  }
}
// EOF or an error on fd 3: the host is done with this instance.
const write = openChannel(onChunk, () => process.exit(0));

// Frames sent in one turn of the event loop leave in one write (each write wakes the host).
let queued = [];
let flushing = false;
function flush() {
  flushing = false;
  const frames = queued;
  queued = [];
  if (frames.length > 0) write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
}
function send(msg) {
  const text = JSON.stringify(msg);
  const n = Buffer.byteLength(text, "utf8");
  const frame = Buffer.allocUnsafe(4 + n);
  frame[0] = n >>> 24;
  frame[1] = (n >>> 16) & 0xff;
  frame[2] = (n >>> 8) & 0xff;
  frame[3] = n & 0xff;
  utf8Into(frame, text, 4, n);
  queued.push(frame);
  if (!flushing) {
    flushing = true;
    setImmediate(flush);
  }
}

// ---- errors ---------------------------------------------------------------------------------
function describe(err) {
  if (err && typeof err === "object" && typeof err.message === "string") {
    const type = typeof err.name === "string" && err.name ? err.name : "Error";
    const stack =
      typeof err.stack === "string"
        ? err.stack
            .split("\n")
            .slice(1)
            .map((l) => l.trim())
            .filter(Boolean)
        : [];
    return { message: err.message, type, stack };
  }
  let message;
  if (typeof err === "string") message = err;
  else {
    try {
      message = JSON.stringify(err);
    } catch {
      message = undefined;
    }
    if (message === undefined) message = String(err);
  }
  return { message, type: "Error", stack: [] };
}

function payload(prefix, err, withStack) {
  const d = describe(err);
  const out = { errorMessage: prefix + d.message, errorType: d.type };
  if (withStack) out.stackTrace = d.stack;
  return out;
}

// Settlers of user calls in flight: an uncaught exception while one runs fails it.
const active = new Set();
function onUncaught(err) {
  if (active.size === 0) {
    process.stderr.write(`fngraph runtime: uncaught exception: ${util.inspect(err)}\n`);
    return;
  }
  for (const settle of [...active]) settle({ kind: "throw", err });
}
process.on("uncaughtException", onUncaught);
process.on("unhandledRejection", onUncaught);

/** Call a user function in any of its styles; never rejects. */
function runUser(fn, args) {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (r) => {
      if (settled) return;
      settled = true;
      active.delete(settle);
      resolve(r);
    };
    active.add(settle);
    const callback = (err, data) => {
      if (err !== null && err !== undefined) settle({ kind: "callback", err });
      else settle({ kind: "value", value: data });
    };
    let ret;
    try {
      ret = fn(...args, callback);
    } catch (err) {
      settle({ kind: "throw", err });
      return;
    }
    if (ret !== null && typeof ret === "object" && typeof ret.then === "function") {
      ret.then(
        (value) => settle({ kind: "value", value }),
        (err) => settle({ kind: "throw", err }),
      );
    } else if (fn.length <= args.length) {
      // The function does not take the callback: its return value is the result.
      settle({ kind: "value", value: ret });
    }
  });
}

let userHandler;
let loading = false;

async function load(msg) {
  if (loading || userHandler) {
    process.stderr.write("fngraph runtime: duplicate load ignored\n");
    return;
  }
  loading = true;
  if (msg.measureRss === false) measureRss = false;
  for (const [k, v] of Object.entries(msg.env || {})) process.env[k] = String(v);
  const root = process.env.RUNTIME_CODE_ROOT || process.cwd();
  let handler;
  try {
    process.chdir(root);
    handler = await resolveFunction(root, msg.handler);
  } catch (err) {
    await flushStdio();
    send({
      type: "load_error",
      errorCode: 4001,
      error: payload("function entry exception, error: ", err, true),
    });
    return;
  }
  // Time spent in the initializer (0 without one): the host reports it apart from the load.
  let initMs = 0;
  if (msg.initializer) {
    let init;
    try {
      init = await resolveFunction(root, msg.initializer);
    } catch (err) {
      await flushStdio();
      send({
        type: "load_error",
        errorCode: 4009,
        error: payload("function initialization exception: ", err, true),
      });
      return;
    }
    const initStart = nowMs();
    const r = await runUser(init, [initContext(msg.initializerTimeoutMs || 0)]);
    initMs = nowMs() - initStart;
    if (r.kind !== "value") {
      await flushStdio();
      send({
        type: "load_error",
        errorCode: 4009,
        error: payload("function initialization exception: ", r.err, true),
      });
      return;
    }
  }
  userHandler = handler;
  if (!measureRss) restingRssKb = process.memoryUsage.rss() / 1024;
  await flushStdio();
  send({ type: "loaded", initMs });
}

// ---- invoking -------------------------------------------------------------------------------
function serialize(value) {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`a ${typeof value} cannot be serialised`);
  return text;
}

// node makes process.stdout and process.stderr on first use (on a pipe, a socket each: ~0.5 ms);
// the getters are wrapped to note when, so a function that never writes does not make them just
// to have them flushed.
const stdio = { stdout: undefined, stderr: undefined };
for (const name of ["stdout", "stderr"]) {
  const d = Object.getOwnPropertyDescriptor(process, name);
  if (!d || !d.get || !d.configurable) {
    stdio[name] = process[name];
    continue;
  }
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: d.enumerable,
    get() {
      return (stdio[name] = d.get.call(process));
    },
  });
}
function flushStream(stream) {
  if (!stream || !stream.writableLength) return Promise.resolve();
  return new Promise((resolve) => stream.write("", () => resolve()));
}
function flushStdio() {
  return Promise.all([flushStream(stdio.stdout), flushStream(stdio.stderr)]);
}
// Whether node still holds output of the function's that the pipes have not taken: only then
// does a reply wait for flushStdio (on Linux a write to a pipe is synchronous, so nearly never;
// the promises and turns of the wait were ~3 % of a warm call's CPU in the runtime).
function stdioPending() {
  return (
    (stdio.stdout !== undefined && stdio.stdout.writableLength > 0) ||
    (stdio.stderr !== undefined && stdio.stderr.writableLength > 0)
  );
}

// Whether this shim reports each call's peak RSS itself: the load message turns it off when the
// sandbox measures the peak (a cgroup), which spares three system calls per call.
let measureRss = true;
// The RSS an idle instance settles at: after the load, raised when a collection cannot go lower.
let restingRssKb = 0;

// The fixed part of the contexts of the invokes that follow (a `context` message), if any.
let baseContext;

async function invoke(msg) {
  const id = msg.id;
  // Read now, before any await: a later `context` message is for later invokes. An invoke that
  // carries its fixed fields (functionName among them) is whole.
  const fixedFrom =
    baseContext !== undefined && msg.context && msg.context.functionName === undefined
      ? baseContext
      : msg.context;
  if (!userHandler) {
    send({
      type: "result",
      id,
      ok: false,
      errorCode: 4001,
      error: { errorMessage: "function not loaded", errorType: "RuntimeError" },
      durationMs: 0,
      maxRssKb: 0,
    });
    return;
  }
  if (measureRss) {
    try {
      fs.writeFileSync("/proc/self/clear_refs", "5");
    } catch {
      // not permitted or no /proc: maxRss then covers the process lifetime
    }
  }
  const baseKb = measureRss ? maxRssKb() : 0;
  const baseHeapKb = measureRss ? 0 : heapKb();
  let event;
  try {
    event = JSON.parse(msg.event);
  } catch {
    event = msg.event;
  }
  const start = nowMs();
  const r = await runUser(userHandler, [event, makeContext(msg.context, fixedFrom)]);
  const durationMs = nowMs() - start;
  let reply;
  if (r.kind === "value") {
    try {
      reply = { type: "result", id, ok: true, result: serialize(r.value) };
    } catch (err) {
      reply = {
        type: "result",
        id,
        ok: false,
        errorCode: 4007,
        error: payload("function result is invalid, error: ", err, false),
      };
    }
  } else if (r.kind === "callback") {
    reply = {
      type: "result",
      id,
      ok: false,
      errorCode: 4002,
      error: payload("function entry exception, error: ", r.err, false),
    };
  } else {
    reply = {
      type: "result",
      id,
      ok: false,
      errorCode: 4002,
      error: payload("function invocation exception, error: ", r.err, true),
    };
  }
  if (stdioPending()) await flushStdio();
  reply.durationMs = durationMs;
  if (measureRss) {
    reply.maxRssKb = maxRssKb();
    if (reply.maxRssKb - baseKb >= GC_GROWTH_KB) await releaseGarbage(baseKb);
  } else {
    // The sandbox measures the peak. Garbage is still collected after a call that grew the
    // heap or the Buffers by GC_GROWTH_KB (V8's figures), or that left the RSS that far above
    // where the instance rests (V8 may have collected already without the pages being gone).
    // The RSS (an open and read of /proc/self/stat) is only looked at after a call of at least
    // RSS_CHECK_MIN_MS: faulting in GC_GROWTH_KB of pages alone takes longer than that, and the
    // read was ~6 % of a warm no-op call's CPU in the runtime.
    reply.maxRssKb = 0;
    const grew =
      heapKb() - baseHeapKb >= GC_GROWTH_KB ||
      (durationMs >= RSS_CHECK_MIN_MS &&
        process.memoryUsage.rss() / 1024 - restingRssKb >= GC_GROWTH_KB);
    if (grew) {
      await releaseGarbage(restingRssKb);
      restingRssKb = Math.max(restingRssKb, process.memoryUsage.rss() / 1024 - GC_GROWTH_KB / 2);
    }
  }
  send(reply);
}

// A prewarmed runtime runs its own load and invoke code once on a module of the shim, so the
// function that takes it does not pay for compiling them (lazy compilation of the CJS loader,
// the context, serialisation …) on its load and first call. No state survives: the handler
// stays unset. Replies `warmed`.
async function warm() {
  if (loading || userHandler) return;
  try {
    const fn = await resolveFunction(__dirname, "warm.handler");
    const context = makeContext({
      requestId: "",
      headers: {},
      userData: {},
      deadline: Date.now() + 1000,
      timeoutSeconds: 1,
    });
    const r = await runUser(fn, [JSON.parse('{"warm":true}'), context]);
    const reply = { type: "result", id: "0", ok: true, result: serialize(r.value) };
    reply.durationMs = nowMs();
    reply.maxRssKb = heapKb();
    Buffer.from(JSON.stringify(reply), "utf8");
    await flushStdio();
    send({ type: "warmed" });
  } catch (err) {
    process.stderr.write(`fngraph runtime: warm-up failed: ${err}\n`);
  }
}

function dispatch(msg) {
  switch (msg && msg.type) {
    case "warm":
      warm().catch(onUncaught);
      break;
    case "load":
      load(msg).catch(onUncaught);
      break;
    case "invoke":
      invoke(msg).catch(onUncaught);
      break;
    case "context":
      baseContext = msg.context && typeof msg.context === "object" ? msg.context : undefined;
      break;
    default:
      process.stderr.write(`fngraph runtime: unknown message type ${msg && msg.type}\n`);
  }
}

// Out at once: a `load` sent with the launch may already wait on fd 3, and its work would
// otherwise hold this frame back until the end of the turn.
send({ type: "ready", baseContext: true });
flush();
