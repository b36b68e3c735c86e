import { z } from "zod";
import { FsError, type ErrorCode } from "../core/errors.js";
import type { StrategyConfig } from "../core/types.js";
import { isValidFunctionName } from "../core/urn.js";
import { RESERVED_ENV } from "../invoker/function-env.js";
import { parseNetworkController, resolveMounts } from "../invoker/mounts.js";

/** Limits of contract §5 that the API checks. */
export const MEMORY_SIZES = [
  128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 8192, 10240,
] as const;
export const TIMEOUT_MIN = 3;
export const TIMEOUT_MAX = 259200;
export const USER_DATA_MAX_CHARS = 4096;
export const DESCRIPTION_MAX = 512;
export const MAX_FUNCTIONS = 400;

const funcCode = z.object({ file: z.string().optional(), link: z.string().optional() }).loose();
const strategy = z
  .object({ concurrency: z.number().int().optional(), concurrent_num: z.number().int().optional() })
  .loose();

/**
 * Fields stored and echoed back as given. `mount_config` and `network_controller` are also acted
 * on (checked here, applied by the invoker); the rest is not.
 */
export const ECHO_FIELDS = [
  "xrole",
  "app_xrole",
  "func_vpc",
  "peering_cidr",
  "mount_config",
  "log_config",
  "network_controller",
  "enterprise_project_id",
  "is_stateful_function",
  "enable_dynamic_memory",
  "enable_lts_log",
  "lts_custom_tag",
  "domain_names",
  "enable_auth_in_header",
  "extend_config",
  "gpu_memory",
  "gpu_type",
  "custom_image",
  "user_data_encrypt_kms_key_id",
  "code_encrypt_kms_key_id",
  "enable_class_isolation",
  "heartbeat_handler",
  "restore_hook_handler",
  "restore_hook_timeout",
  "log_group_id",
  "log_stream_id",
] as const;

const common = {
  func_name: z.string().optional(),
  runtime: z.string().optional(),
  timeout: z.number().optional(),
  handler: z.string().optional(),
  memory_size: z.number().optional(),
  user_data: z.string().optional(),
  encrypted_user_data: z.string().optional(),
  description: z.string().optional(),
  initializer_handler: z.string().optional(),
  initializer_timeout: z.number().optional(),
  pre_stop_handler: z.string().optional(),
  pre_stop_timeout: z.number().optional(),
  strategy_config: strategy.optional(),
  ephemeral_storage: z.number().optional(),
};

export const createFunctionBody = z
  .object({
    ...common,
    func_name: z.string(),
    package: z.string().optional(),
    runtime: z.string(),
    code_type: z.string().optional(),
    code_url: z.string().optional(),
    code_filename: z.string().optional(),
    func_code: funcCode.optional(),
    depend_version_list: z.array(z.string()).optional(),
    type: z.string().optional(),
  })
  .loose();
export type CreateFunctionBody = z.infer<typeof createFunctionBody>;

export const updateConfigBody = z.object(common).loose();
export type UpdateConfigBody = z.infer<typeof updateConfigBody>;

export const updateCodeBody = z
  .object({
    code_type: z.string().optional(),
    code_url: z.string().optional(),
    code_filename: z.string().optional(),
    func_code: funcCode.optional(),
    depend_version_list: z.array(z.string()).optional(),
  })
  .loose();
export type UpdateCodeBody = z.infer<typeof updateCodeBody>;

/** Parse a JSON body with a schema; shape errors are 400 FSS.0400 naming the field. */
export function parseBody<T>(schema: z.ZodType<T>, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue?.path.length ? issue.path.join(".") : "body";
  throw new FsError(
    "INVALID_PARAMETER",
    `invalid ${where}: ${issue?.message ?? "bad request body"}`,
  );
}

export function checkFunctionName(name: string): void {
  if (!isValidFunctionName(name)) {
    throw new FsError(
      "INVALID_FUNCTION_NAME",
      "func_name must be 1-60 characters of letters, digits, '_' and '-', start with a letter and end with a letter or digit",
    );
  }
}

export function checkPackage(pkg: string): void {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(pkg))
    throw new FsError(
      "INVALID_PACKAGE",
      "package must be 1-64 characters of letters, digits, '_', '.' and '-'",
    );
}

const HANDLER = /^[A-Za-z0-9_$][A-Za-z0-9_./$-]*\.[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `file.func` (paths allowed: `src/index.handler`), 3-128 chars, no traversal. */
export function checkHandler(
  handler: string,
  code: ErrorCode = "INVALID_HANDLER",
  field = "handler",
): void {
  if (
    handler.length < 3 ||
    handler.length > 128 ||
    !HANDLER.test(handler) ||
    handler.split("/").includes("..")
  ) {
    throw new FsError(
      code,
      `${field} must look like "index.handler" (file.function, 3-128 characters)`,
    );
  }
}

export function checkMemory(mb: number): void {
  if (!(MEMORY_SIZES as readonly number[]).includes(mb)) {
    throw new FsError(
      "INVALID_MEMORY",
      `memory_size must be one of ${MEMORY_SIZES.join(", ")} (MB)`,
    );
  }
}

/** Per-call memory from `X-Cff-Instance-Memory`: honoured with enable_dynamic_memory; a value
 * outside the memory sizes is 406 FSS.0406 either way. */
export function parseInstanceMemory(
  headers: Record<string, string>,
  enabled: boolean,
): number | undefined {
  const raw = headers["x-cff-instance-memory"];
  if (raw === undefined || raw === "") return undefined;
  const mb = Number(raw);
  if (!(MEMORY_SIZES as readonly number[]).includes(mb)) {
    throw new FsError(
      "NOT_ACCEPTABLE",
      `X-Cff-Instance-Memory must be one of ${MEMORY_SIZES.join(", ")}`,
    );
  }
  return enabled ? mb : undefined;
}

export function checkTimeout(s: number): void {
  if (!Number.isInteger(s) || s < TIMEOUT_MIN || s > TIMEOUT_MAX) {
    throw new FsError(
      "INVALID_TIMEOUT",
      `timeout must be an integer from ${TIMEOUT_MIN} to ${TIMEOUT_MAX} seconds`,
    );
  }
}

export function checkDescription(d: string): void {
  if (d.length > DESCRIPTION_MAX)
    throw new FsError(
      "DESCRIPTION_TOO_LONG",
      `description is limited to ${DESCRIPTION_MAX} characters`,
    );
}

const ENV_KEY = /^[A-Za-z][A-Za-z0-9_]*$/;

/** `user_data` is a JSON-encoded object string of string values (contract §1.2). */
export function parseUserData(
  raw: string | undefined,
  field = "user_data",
): Record<string, string> {
  if (raw === undefined || raw.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new FsError("INVALID_USER_DATA", `${field} must be a JSON object encoded as a string`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new FsError("INVALID_USER_DATA", `${field} must be a JSON object encoded as a string`);
  }
  const out: Record<string, string> = {};
  let total = 0;
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (!ENV_KEY.test(k))
      throw new FsError(
        "INVALID_USER_DATA",
        `${field} key "${k}" must match [A-Za-z][A-Za-z0-9_]*`,
      );
    if ((RESERVED_ENV as readonly string[]).includes(k)) {
      throw new FsError("INVALID_USER_DATA", `${field} key "${k}" is reserved by the platform`);
    }
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
      throw new FsError("INVALID_USER_DATA", `${field} value of "${k}" must be a string`);
    }
    out[k] = String(v);
    total += k.length + out[k].length;
  }
  if (total > USER_DATA_MAX_CHARS) {
    throw new FsError(
      "USER_DATA_TOO_LARGE",
      `${field} keys and values are limited to ${USER_DATA_MAX_CHARS} characters in total`,
    );
  }
  return out;
}

export function checkInitializer(handler: string | undefined, timeout: number | undefined): void {
  if (handler) checkHandler(handler, "INVALID_INITIALIZER", "initializer_handler");
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 1 || timeout > 300)) {
    throw new FsError(
      "INVALID_INITIALIZER_TIMEOUT",
      "initializer_timeout must be an integer from 1 to 300 seconds",
    );
  }
}

export function checkPreStop(handler: string | undefined, timeout: number | undefined): void {
  if (handler) checkHandler(handler, "INVALID_PARAMETER", "pre_stop_handler");
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 1 || timeout > 90)) {
    throw new FsError(
      "INVALID_PARAMETER",
      "pre_stop_timeout must be an integer from 1 to 90 seconds",
    );
  }
}

export function checkEphemeralStorage(mb: number): void {
  if (mb !== 512 && mb !== 10240)
    throw new FsError("INVALID_PARAMETER", "ephemeral_storage must be 512 or 10240 (MB)");
}

/**
 * `mount_config` (when present in the body): FSS.1039 / FSS.1049 / FSS.1050 / FSS.1075, see
 * src/invoker/mounts.ts. `roots` are the operator-allowed host directories (config mountRoots).
 */
export function checkMountConfig(raw: unknown, roots: readonly string[]): void {
  if (raw !== undefined) resolveMounts(raw, roots);
}

/** `network_controller.disable_public_network` must be a boolean when given. */
export function checkNetworkController(raw: unknown): void {
  if (raw !== undefined) parseNetworkController(raw);
}

export function toStrategy(
  input: { concurrency?: number | undefined; concurrent_num?: number | undefined } | undefined,
  current: StrategyConfig,
): StrategyConfig {
  const concurrency = input?.concurrency ?? current.concurrency;
  const concurrentNum = input?.concurrent_num ?? current.concurrentNum;
  if (!Number.isInteger(concurrency) || concurrency < -1 || concurrency > 1000) {
    throw new FsError(
      "INVALID_CONCURRENCY",
      "strategy_config.concurrency must be -1 (unlimited), 0 (disabled) or 1-1000",
    );
  }
  if (!Number.isInteger(concurrentNum) || concurrentNum < 1 || concurrentNum > 1000) {
    throw new FsError(
      "INVALID_CONCURRENCY",
      "strategy_config.concurrent_num must be from 1 to 1000",
    );
  }
  return { concurrency, concurrentNum };
}

/** Pull the echo-only fields out of a body. */
export function pickEcho(
  body: Record<string, unknown>,
  current: Record<string, unknown> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...current };
  for (const f of ECHO_FIELDS) if (body[f] !== undefined) out[f] = body[f];
  return out;
}
