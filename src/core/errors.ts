/**
 * The one error class of fngraph and its catalogue. Every API error leaves the platform as
 * `{"error_code": "FSS.xxxx", "error_msg": "..."}` with the HTTP status given here.
 * Codes are stable and never reused; tests assert on `code`, never on message text.
 */
export const ERRORS = {
  INVALID_PARAMETER: { status: 400, fss: "FSS.0400", message: "Invalid parameter" },
  UNAUTHORIZED: { status: 401, fss: "FSS.0401", message: "Unauthorized" },
  FORBIDDEN: { status: 403, fss: "FSS.0403", message: "Forbidden" },
  NOT_FOUND: { status: 404, fss: "FSS.0404", message: "Not found the specified resource" },
  METHOD_NOT_ALLOWED: { status: 405, fss: "FSS.0405", message: "Method not allowed" },
  NOT_ACCEPTABLE: { status: 406, fss: "FSS.0406", message: "Not acceptable" },
  REQUEST_TIMEOUT: { status: 408, fss: "FSS.0408", message: "Request timeout" },
  CONFLICT: { status: 409, fss: "FSS.0409", message: "Already exists" },
  BODY_TOO_LARGE: { status: 413, fss: "FSS.0413", message: "Request body too large" },
  TOO_MANY_REQUESTS: { status: 429, fss: "FSS.0429", message: "Too many requests" },
  FUNCTION_DISABLED: { status: 429, fss: "FSS.0429", message: "Function Disabled" },
  INTERNAL: { status: 500, fss: "FSS.0500", message: "Internal error" },
  UNAVAILABLE: { status: 503, fss: "FSS.0503", message: "Service unavailable" },

  INVALID_QUERY: { status: 400, fss: "FSS.1001", message: "Invalid query parameter" },
  INVALID_FUNCTION_NAME: { status: 400, fss: "FSS.1002", message: "Invalid function name" },
  INVALID_HANDLER: { status: 400, fss: "FSS.1003", message: "Invalid handler" },
  INVALID_PACKAGE: { status: 400, fss: "FSS.1004", message: "Invalid package" },
  INVALID_RUNTIME: { status: 400, fss: "FSS.1005", message: "Invalid runtime" },
  INVALID_CODE_TYPE: { status: 400, fss: "FSS.1006", message: "Invalid code type" },
  INVALID_MEMORY: { status: 400, fss: "FSS.1007", message: "Invalid memory size" },
  INVALID_TIMEOUT: { status: 400, fss: "FSS.1008", message: "Invalid timeout" },
  INVALID_USER_DATA: { status: 400, fss: "FSS.1009", message: "Invalid UserData" },
  INVALID_URL: { status: 400, fss: "FSS.1010", message: "Invalid URL" },
  INVALID_CODE: { status: 400, fss: "FSS.1011", message: "Invalid code" },
  CODE_REQUIRED: { status: 400, fss: "FSS.1012", message: "Code is required" },
  INVALID_FILE_TYPE: { status: 400, fss: "FSS.1013", message: "Invalid file type" },
  INVALID_ALIAS: { status: 400, fss: "FSS.1014", message: "Invalid alias" },
  INVALID_VERSION: { status: 400, fss: "FSS.1015", message: "Invalid version" },
  NOTHING_CHANGED: { status: 400, fss: "FSS.1016", message: "Nothing changed since last publish" },
  USER_DATA_TOO_MANY: { status: 400, fss: "FSS.1017", message: "Too many UserData items" },
  USER_DATA_TOO_LARGE: { status: 400, fss: "FSS.1018", message: "UserData too large" },
  DESCRIPTION_TOO_LONG: { status: 400, fss: "FSS.1019", message: "Description too long" },
  INVALID_CONCURRENCY: { status: 400, fss: "FSS.1026", message: "Invalid concurrency" },
  INVALID_MOUNT_PATH: { status: 400, fss: "FSS.1039", message: "Invalid mount path" },
  FUNCTION_QUOTA: { status: 403, fss: "FSS.1041", message: "Function count quota exceeded" },
  CODE_SIZE_QUOTA: { status: 403, fss: "FSS.1042", message: "Total code size quota exceeded" },
  MOUNT_RESOURCE_NOT_FOUND: { status: 404, fss: "FSS.1050", message: "Mount resource not found" },
  FUNCTION_NOT_FOUND: { status: 404, fss: "FSS.1051", message: "Not found the function" },
  VERSION_NOT_FOUND: { status: 404, fss: "FSS.1052", message: "Not found the function version" },
  ALIAS_NOT_FOUND: { status: 404, fss: "FSS.1053", message: "Not found the function alias" },
  FUNCTION_EXISTS: { status: 409, fss: "FSS.1061", message: "The function already exists" },
  VERSION_EXISTS: { status: 409, fss: "FSS.1062", message: "The version already exists" },
  PACKAGE_TOO_LARGE: { status: 413, fss: "FSS.1071", message: "Code package too large" },
  INLINE_CODE_TOO_LARGE: { status: 413, fss: "FSS.1072", message: "Inline code too large" },
  INVOKE_BODY_TOO_LARGE: { status: 413, fss: "FSS.1201", message: "Request body too large" },
  APIG_RESULT_INVALID: { status: 500, fss: "FSS.1202", message: "Response has no status code" },
  INVALID_INITIALIZER: { status: 400, fss: "FSS.1404", message: "Invalid initializer" },
  INVALID_INITIALIZER_TIMEOUT: {
    status: 400,
    fss: "FSS.1405",
    message: "Invalid initializer timeout",
  },
  // Same wire code as INVALID_HANDLER: the handler names a file the code package lacks.
  HANDLER_FILE_NOT_FOUND: {
    status: 400,
    fss: "FSS.1003",
    message: "Handler file not found in the code package",
  },
  // Versions and aliases (contract §1.6). The contract names no code for the version quota;
  // quotas are 403 there, so it is a 403 with the generic FSS.0403.
  VERSION_QUOTA: { status: 403, fss: "FSS.0403", message: "Version count quota exceeded" },
  ALIAS_QUOTA: { status: 403, fss: "FSS.1043", message: "Alias count quota exceeded" },
  ALIAS_EXISTS: { status: 409, fss: "FSS.1063", message: "The alias already exists" },
  VERSION_BOUND_TO_ALIAS: {
    status: 409,
    fss: "FSS.1066",
    message: "The version is already bound to another alias",
  },
  INVALID_ADDITIONAL_VERSION: {
    status: 400,
    fss: "FSS.1091",
    message: "Invalid additional version",
  },
  INVALID_VERSION_WEIGHT: { status: 400, fss: "FSS.1092", message: "Invalid version weight" },
  ADDITIONAL_VERSION_IS_MAIN: {
    status: 400,
    fss: "FSS.1093",
    message: "The additional version is the same as the main version",
  },
  VERSION_USED_AS_ADDITIONAL: {
    status: 403,
    fss: "FSS.1094",
    message: "The version is used as an additional version of an alias",
  },
  ALIAS_HAS_TRIGGERS: { status: 403, fss: "FSS.1154", message: "The alias has triggers" },
  // Function mounts (issue 3, contract §1.2 mount_config).
  MOUNT_QUOTA: { status: 403, fss: "FSS.1049", message: "More than 5 mounts" },
  MOUNT_USER_INVALID: { status: 400, fss: "FSS.1075", message: "Invalid mount user or group id" },
  // Async invocation (issue 6).
  INVALID_REQUEST_ID: { status: 400, fss: "FSS.0400", message: "Invalid RequestId" },
  ASYNC_CONFIG_NOT_FOUND: {
    status: 404,
    fss: "FSS.0404",
    message: "Not found the async invoke config",
  },
  ASYNC_DESTINATION_CYCLE: {
    status: 400,
    fss: "FSS.0400",
    message: "Destination functions must not form a cycle",
  },
  // Triggers (issue 7, contract §1.7 and §1.14). RabbitMQ is "DMS for RabbitMQ": FSS.1103.
  INVALID_TRIGGER_TYPE: { status: 400, fss: "FSS.1101", message: "Invalid trigger type" },
  INVALID_SMN_TRIGGER: { status: 400, fss: "FSS.1102", message: "Invalid SMN trigger parameters" },
  INVALID_DMS_TRIGGER: { status: 400, fss: "FSS.1103", message: "Invalid DMS trigger parameters" },
  INVALID_DIS_TRIGGER: { status: 400, fss: "FSS.1104", message: "Invalid DIS trigger parameters" },
  INVALID_OBS_TRIGGER: { status: 400, fss: "FSS.1106", message: "Invalid OBS trigger parameters" },
  INVALID_APIG_TRIGGER: {
    status: 400,
    fss: "FSS.1107",
    message: "Invalid APIG trigger parameters",
  },
  OBS_BUCKET_CONFLICT: {
    status: 403,
    fss: "FSS.1108",
    message: "The bucket already has a trigger for these events",
  },
  INVALID_TIMER_TRIGGER: {
    status: 400,
    fss: "FSS.1109",
    message: "Invalid timer trigger parameters",
  },
  INVALID_LTS_TRIGGER: { status: 400, fss: "FSS.1110", message: "Invalid LTS trigger parameters" },
  INVALID_KAFKA_TRIGGER: {
    status: 400,
    fss: "FSS.1112",
    message: "Invalid Kafka trigger parameters",
  },
  KAFKA_SASL_CREDENTIALS: {
    status: 400,
    fss: "FSS.1113",
    message: "SASL_SSL needs a user name and a password",
  },
  TRIGGER_QUOTA: { status: 403, fss: "FSS.1123", message: "Trigger count quota exceeded" },
  STREAM_NOT_FOUND: { status: 404, fss: "FSS.1130", message: "Not found the stream" },
  TRIGGER_NOT_FOUND: { status: 404, fss: "FSS.1131", message: "Not found the trigger" },
  DIS_TRIGGER_EXISTS: { status: 409, fss: "FSS.1143", message: "The DIS trigger already exists" },
  APIG_PATH_EXISTS: { status: 409, fss: "FSS.1147", message: "The API path already exists" },
  TIMER_TRIGGER_EXISTS: {
    status: 409,
    fss: "FSS.1148",
    message: "The timer trigger already exists",
  },
  INVALID_DDS_TRIGGER: { status: 400, fss: "FSS.1164", message: "Invalid DDS trigger parameters" },
  // The contract gives CTS codes 1301-1319 without meanings: the generic code is safer.
  INVALID_CTS_TRIGGER: { status: 400, fss: "FSS.0400", message: "Invalid CTS trigger parameters" },
  GATEWAY_TIMEOUT: { status: 504, fss: "FSS.0504", message: "Gateway timeout" },
  // Dependency packages (issue 8, contract §1.8).
  INVALID_DEPENDENCY: { status: 400, fss: "FSS.1024", message: "Invalid dependency" },
  DEPENDENCY_ATTACHED_TWICE: {
    status: 400,
    fss: "FSS.1031",
    message: "The dependency is already attached to the function",
  },
  INVALID_DEPENDENCY_TYPE: { status: 400, fss: "FSS.1032", message: "Invalid dependency type" },
  DEPENDENCY_IN_USE: { status: 412, fss: "FSS.1033", message: "The dependency is in use" },
  DEPENDENCY_QUOTA: { status: 403, fss: "FSS.1045", message: "Dependency quota exceeded" },
  DEPENDENCY_INACCESSIBLE: {
    status: 403,
    fss: "FSS.1046",
    message: "The dependency is not accessible",
  },
  DEPENDENCY_NOT_FOUND: { status: 404, fss: "FSS.1056", message: "Not found the dependency" },
  DEPENDENCY_EXISTS: { status: 409, fss: "FSS.1065", message: "The dependency already exists" },
  // 424 Failed Dependency: a dependency built for another language than the function's.
  DEPENDENCY_RUNTIME_MISMATCH: {
    status: 424,
    fss: "FSS.0424",
    message: "The dependency does not fit the function's runtime",
  },
  DEPENDENCY_TOO_LARGE: { status: 413, fss: "FSS.0413", message: "Dependency package too large" },
} as const satisfies Record<string, { status: number; fss: string; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** The platform's error. `detail` becomes `error_msg` (defaults to the catalogue message). */
export class FsError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly fss: string;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    const entry = ERRORS[code];
    super(detail ?? entry.message, options);
    this.name = "FsError";
    this.code = code;
    this.status = entry.status;
    this.fss = entry.fss;
  }

  toBody(): { error_code: string; error_msg: string } {
    return { error_code: this.fss, error_msg: this.message };
  }
}

/** Check by shape, not instanceof: errors may cross module realms (see CONVENTIONS, Errors). */
export function isFsError(err: unknown): err is FsError {
  return (
    typeof err === "object" &&
    err !== null &&
    (err as { name?: unknown }).name === "FsError" &&
    typeof (err as { code?: unknown }).code === "string" &&
    (err as { code: string }).code in ERRORS
  );
}

/** Plain-data form of an error, for crossing process boundaries. */
export interface ErrorData {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}

export function toErrorData(err: unknown): ErrorData {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: err.message,
      ...(err.stack ? { stack: err.stack } : {}),
      ...(typeof code === "string" ? { code } : {}),
    };
  }
  return { name: "Error", message: String(err) };
}
