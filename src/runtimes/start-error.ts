import type { Failure } from "./outcomes.js";
import type { FunctionErrorPayload } from "./types.js";

/** Why an instance could not start; plain data, check `name`/`errorCode`, not instanceof. */
export class InstanceStartError extends Error {
  override readonly name = "InstanceStartError";
  readonly errorCode: number;
  readonly error: FunctionErrorPayload;
  /** Output of the runtime during the failed start. */
  readonly log: string;
  /** True when the user's code is to blame (bad handler, initializer), false for the platform. */
  readonly isFuncErr: boolean;

  constructor(failure: Failure, log: string) {
    super(failure.error.errorMessage);
    this.errorCode = failure.errorCode;
    this.error = failure.error;
    this.log = log;
    this.isFuncErr = failure.isFuncErr;
  }

  toJSON() {
    return {
      name: this.name,
      errorCode: this.errorCode,
      error: this.error,
      log: this.log,
      isFuncErr: this.isFuncErr,
    };
  }
}

export function isInstanceStartError(err: unknown): err is InstanceStartError {
  return (
    typeof err === "object" &&
    err !== null &&
    (err as { name?: unknown }).name === "InstanceStartError" &&
    typeof (err as { errorCode?: unknown }).errorCode === "number"
  );
}
