import type { SandboxExit } from "../sandbox/types.js";
import type { FunctionErrorPayload } from "./types.js";

/** A failed start or invocation, before timing and logs are added. */
export interface Failure {
  errorCode: number;
  isFuncErr: boolean;
  error: FunctionErrorPayload;
}

/** Why the host killed an instance; `byId` names the invocation that caused it. */
export interface KillReason extends Failure {
  byId?: string;
}

/** stderr text by which a runtime that died is known to have run out of memory. */
export const OOM_PATTERN = /JavaScript heap out of memory|Allocation failed|MemoryError/;

export function memoryFailure(): Failure {
  return {
    errorCode: 4205,
    isFuncErr: true,
    error: { errorMessage: "runtime memory limit exceeded", errorType: "MemoryError" },
  };
}

export function startFailure(errorCode: number, message: string): Failure {
  return {
    errorCode,
    isFuncErr: false,
    error: { errorMessage: `initialization failed: ${message}`, errorType: "RuntimeError" },
  };
}

export function describeExit(exit: SandboxExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${String(exit.code)}`;
}

/** Outcome of an invocation in flight when the host killed the instance. */
export function killFailure(reason: KillReason, id: string): Failure {
  if (reason.byId === undefined || reason.byId === id) {
    return { errorCode: reason.errorCode, isFuncErr: reason.isFuncErr, error: reason.error };
  }
  return {
    errorCode: 4002,
    isFuncErr: false,
    error: {
      errorMessage: `runtime exited unexpectedly: instance stopped after invocation ${reason.byId} failed with ${reason.errorCode}`,
      errorType: "RuntimeExitError",
    },
  };
}

/** Outcome of an invocation in flight when the runtime died on its own. */
export function exitFailure(exit: SandboxExit, oom: boolean): Failure {
  if (oom) return memoryFailure();
  return {
    errorCode: 4002,
    isFuncErr: true,
    error: {
      errorMessage: `runtime exited unexpectedly (${describeExit(exit)})`,
      errorType: "RuntimeExitError",
    },
  };
}
