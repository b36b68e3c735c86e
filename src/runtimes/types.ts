import type { ZipEntry } from "../packages/zip-entry.js";
import type { SandboxPaths } from "../sandbox/types.js";

export type Language = "nodejs" | "python" | "custom" | "http" | "go" | "php" | "java";

/** How to start one language's runtime process (host side); registry in registry.ts. */
export interface RuntimeDef {
  language: Language;
  /** FunctionGraph runtime names served by this definition, e.g. `Node.js18.15`. */
  names: readonly string[];
  /** Host directory of the shim (what runs inside the sandbox). */
  shimDir: string;
  /** File the handler's module lives in, for a handler `index.handler`: `index.js` / `index.py`. */
  entryFile(handler: string): string;
  /** argv of the runtime process as seen inside the sandbox. */
  command(paths: SandboxPaths, opts: { memoryMb: number }): string[];
  /** Base environment of the process (PATH, HOME, LANG …), before function variables. */
  baseEnv(paths: SandboxPaths): Record<string, string>;
  /**
   * Check an uploaded package (create/update code) instead of the default "entry file exists"
   * check; throws FsError. Custom/http: an executable `bootstrap`; Java: a JAR.
   */
  checkPackage?(entries: readonly ZipEntry[], handler: string): void;
  /** The handler string is not `file.function` (Custom/http: informational; Java: a.b.C.m). */
  freeHandler?: boolean;
  /** Code types accepted besides inline/zip/obs (Java: `jar`). */
  codeTypes?: readonly string[];
  /** Needs a network namespace of its own even when the function has full network (http). */
  ownNetwork?: boolean;
  /** The shim benefits from the `warm` message before a prewarmed runtime is taken (Node.js). */
  warmUp?: boolean;
}

/** What a started runtime is told to load (the `load` message of the instance protocol). */
export interface LoadSpec {
  handler: string;
  initializer: string;
  initializerTimeoutMs: number;
  /** Function environment (contract §3.4 plus user_data keys); merged into the process env. */
  env: Record<string, string>;
}

/** Per-invocation context data sent to the runtime; the shim builds the context object from it. */
export interface InvokeContext {
  requestId: string;
  functionName: string;
  version: string;
  alias: string;
  package: string;
  projectId: string;
  memorySize: number;
  cpuMillicores: number;
  timeoutSeconds: number;
  /** Epoch ms when the invocation must be finished. */
  deadline: number;
  invokeType: "sync" | "async";
  userData: Readonly<Record<string, string>>;
  accessKey: string;
  secretKey: string;
  securityToken: string;
  authToken: string;
  /** Original per-invocation headers (X-Cff-Workflow-Id …), lower-case names. */
  headers: Record<string, string>;
}

/** The error payload of contract §3.7, as the shim builds it. */
export interface FunctionErrorPayload {
  errorMessage: string;
  errorType: string;
  stackTrace?: string[];
}

export type InvokeOutcome =
  | {
      ok: true;
      /** Handler result serialised (strings verbatim, null/undefined → "", objects → JSON). */
      result: string;
      durationMs: number;
      maxRssKb: number;
      log: string;
    }
  | {
      ok: false;
      /** Numeric function error code (contract §3.7): 4001 entry, 4002 user error, 4010 timeout, 4205 OOM … */
      errorCode: number;
      /** True when the failure came from the user's code (X-Is-Func-Err). */
      isFuncErr: boolean;
      error: FunctionErrorPayload;
      durationMs: number;
      maxRssKb: number;
      log: string;
      /** The instance is dead and must not be reused. */
      fatal: boolean;
    };
