import type { FunctionRecord, FunctionVersion } from "../core/types.js";
import type { SandboxPaths } from "../sandbox/types.js";

export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;

/** CPU share in millicores for a memory size (contract §5: 128 MB → 300). */
export function cpuMillicores(memoryMb: number): number {
  return Math.round((memoryMb / 128) * 100 + 200);
}

/** Names the platform sets; user_data keys may not use them (contract §3.4). */
export const RESERVED_ENV = [
  "RUNTIME_PROJECT_ID",
  "RUNTIME_FUNC_NAME",
  "RUNTIME_FUNC_VERSION",
  "RUNTIME_PACKAGE",
  "RUNTIME_HANDLER",
  "RUNTIME_TIMEOUT",
  "RUNTIME_USERDATA",
  "RUNTIME_CPU",
  "RUNTIME_MEMORY",
  "RUNTIME_CODE_ROOT",
  "RUNTIME_API_ADDR",
  "RUNTIME_ROOT",
  "RUNTIME_LOG_DIR",
  "RUNTIME_MAX_RESP_BODY_SIZE",
  "RUNTIME_INITIALIZER_HANDLER",
  "RUNTIME_INITIALIZER_TIMEOUT",
  "RUNTIME_ALIAS",
  "RUNTIME_MAX_REQUEST_BODY_SIZE",
  "RUNTIME_PRESTOP_HANDLER",
  "RUNTIME_MAX_STATE_SIZE",
] as const;

/** The environment of contract §3.4 for one function version, plus every user_data key. */
export function functionEnv(
  fn: FunctionRecord,
  v: FunctionVersion,
  paths: SandboxPaths,
  memoryMb: number,
): Record<string, string> {
  const userData = { ...v.userData, ...v.encryptedUserData };
  return {
    ...userData,
    RUNTIME_PROJECT_ID: fn.projectId,
    RUNTIME_FUNC_NAME: fn.name,
    RUNTIME_FUNC_VERSION: v.version,
    RUNTIME_PACKAGE: fn.package,
    RUNTIME_HANDLER: v.handler,
    RUNTIME_TIMEOUT: String(v.timeout),
    RUNTIME_USERDATA: JSON.stringify(userData),
    RUNTIME_CPU: String(cpuMillicores(memoryMb)),
    RUNTIME_MEMORY: String(memoryMb),
    RUNTIME_CODE_ROOT: paths.codeRoot,
    RUNTIME_ROOT: paths.runtimeRoot,
    RUNTIME_LOG_DIR: paths.tmpDir,
    RUNTIME_MAX_RESP_BODY_SIZE: String(MAX_RESPONSE_BYTES),
    RUNTIME_MAX_REQUEST_BODY_SIZE: String(MAX_RESPONSE_BYTES),
    RUNTIME_INITIALIZER_HANDLER: v.initializerHandler,
    RUNTIME_INITIALIZER_TIMEOUT: String(v.initializerTimeout),
    RUNTIME_PRESTOP_HANDLER: v.preStopHandler,
  };
}

/**
 * The request headers a runtime is given in its invoke context: the `x-cff-*` ones (contract
 * §3.5; the shims read the workflow and security ones). Everything else (the caller's token or
 * signature among them) stays with the platform, and the invoke frame stays small.
 */
export function runtimeHeaders(
  headers: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const k in headers) if (k.startsWith("x-cff-")) out[k] = headers[k]!;
  return out;
}
