"use strict";
// Part of the fngraph Node.js runtime shim (runtime.cjs). Runs INSIDE the sandbox. One file, not
// one per part: each further file the shim requires added ~0.4 ms to every runtime start.

const fs = require("fs");
const path = require("path");
const util = require("util");

// V8's heap figures and flags through node's binding, read as lib/v8.js reads them: require("v8")
// costs every start ~1.5 ms. Where the binding is not what this expects, the module it is.
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

function makeContext(c) {
  const h = c.headers || {};
  const ud = c.userData || {};
  let logger;
  return {
    getRequestID: () => c.requestId,
    getRemainingTimeInMilliSeconds: () => Math.max(0, c.deadline - Date.now()),
    getRunningTimeInSeconds: () => c.timeoutSeconds,
    getAccessKey: () => c.accessKey,
    getSecretKey: () => c.secretKey,
    getSecurityAccessKey: () => h["x-cff-security-access-key"] || c.accessKey,
    getSecuritySecretKey: () => h["x-cff-security-secret-key"] || c.secretKey,
    getSecurityToken: () => c.securityToken,
    getToken: () => c.authToken,
    getUserData: (key) => (Object.prototype.hasOwnProperty.call(ud, key) ? ud[key] : undefined),
    getFunctionName: () => c.functionName,
    getVersion: () => c.version,
    getMemorySize: () => c.memorySize,
    getCPUNumber: () => c.cpuMillicores,
    getProjectID: () => c.projectId,
    getPackage: () => c.package,
    getAlias: () => c.alias,
    getInvokeType: () => c.invokeType,
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

module.exports = {
  makeContext,
  initContext,
  resolveFunction,
  GC_GROWTH_KB,
  RSS_CHECK_MIN_MS,
  heapKb,
  maxRssKb,
  nowMs,
  releaseGarbage,
};
