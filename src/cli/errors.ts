/**
 * A failure the CLI reports to a person: one line on stderr and an exit code. API errors keep the
 * FunctionGraph `error_code` so scripts can match on it (`error FSS.1051: ...`).
 */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: number;
  /** `FSS.xxxx` when the message came from the API. */
  readonly errorCode: string | undefined;
  constructor(message: string, exitCode = 1, errorCode?: string) {
    super(message);
    this.exitCode = exitCode;
    this.errorCode = errorCode;
  }
}

export function isCliError(err: unknown): err is CliError {
  return typeof err === "object" && err !== null && (err as { name?: unknown }).name === "CliError";
}

/** The line printed for any error that reaches a command's boundary. */
export function toErrorLine(err: unknown): string {
  if (isCliError(err)) {
    return err.errorCode ? `error ${err.errorCode}: ${err.message}` : `error: ${err.message}`;
  }
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}
