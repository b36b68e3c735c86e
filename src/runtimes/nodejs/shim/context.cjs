"use strict";
// Part of the fngraph Node.js runtime shim (runtime.cjs). Runs INSIDE the sandbox.

const util = require("util");

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

module.exports = { makeContext, initContext };
