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

export const TIMEOUT: Failure = {
  errorCode: 4010,
  isFuncErr: true,
  error: { errorMessage: "invocation timeout", errorType: "TimeoutError" },
};

export const CANCELED: Failure = {
  errorCode: 4208,
  isFuncErr: false,
  error: { errorMessage: "function invocation canceled", errorType: "CanceledError" },
};

export const NOT_RUNNING: Failure = {
  errorCode: 4002,
  isFuncErr: false,
  error: { errorMessage: "runtime instance is not running", errorType: "RuntimeExitError" },
};

export const INITIALIZER_TIMEOUT: Failure = {
  errorCode: 4211,
  isFuncErr: true,
  error: { errorMessage: "initializer timeout", errorType: "TimeoutError" },
};

export function launchFailure(err: unknown): Failure {
  return {
    errorCode: 4201,
    isFuncErr: false,
    error: { errorMessage: `initialization failed: ${String(err)}`, errorType: "SandboxError" },
  };
}

export function protocolFailure(err: unknown): Failure {
  return {
    errorCode: 4002,
    isFuncErr: false,
    error: { errorMessage: `runtime protocol error: ${String(err)}`, errorType: "RuntimeError" },
  };
}

/** The runtime died while loading the function (4001) or running its initializer (4009). */
export function loadExitFailure(exit: SandboxExit, hasInitializer: boolean): Failure {
  const what = `runtime exited while loading (${describeExit(exit)})`;
  return hasInitializer
    ? {
        errorCode: 4009,
        isFuncErr: true,
        error: {
          errorMessage: `function initialization exception: ${what}`,
          errorType: "RuntimeExitError",
        },
      }
    : {
        errorCode: 4001,
        isFuncErr: true,
        error: {
          errorMessage: `function entry exception, error: ${what}`,
          errorType: "RuntimeExitError",
        },
      };
}
