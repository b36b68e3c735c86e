import path from "node:path";
import type { SandboxPaths } from "../../sandbox/types.js";
import { baseEnv } from "../base-env.js";
import type { RuntimeDef } from "../types.js";

/** FunctionGraph Node.js runtime names; all are served by the one installed node. */
export const NODE_RUNTIME_NAMES = [
  "Node.js6.10",
  "Node.js8.10",
  "Node.js10.16",
  "Node.js12.13",
  "Node.js14.18",
  "Node.js16.17",
  "Node.js18.15",
  "Node.js20.15",
] as const;

export interface NodeRuntimeOptions {
  /** Absolute path of the node binary, as visible inside the sandbox. */
  nodePath: string;
  /** Host directory holding `runtime.cjs`. */
  shimDir: string;
}

/** V8's old space gets this share of the function's memory; the rest is stacks, buffers, code. */
const HEAP_SHARE = 0.75;

export function createNodeRuntime(opts: NodeRuntimeOptions): RuntimeDef {
  return {
    language: "nodejs",
    warmUp: true,
    names: NODE_RUNTIME_NAMES,
    shimDir: opts.shimDir,
    entryFile: (handler) => `${splitHandler(handler).file}.js`,
    command: (paths, { memoryMb }) => [
      opts.nodePath,
      `--max-old-space-size=${Math.max(16, Math.floor(memoryMb * HEAP_SHARE))}`,
      "--no-warnings",
      path.posix.join(paths.runtimeRoot, "runtime.cjs"),
    ],
    baseEnv: (paths: SandboxPaths) =>
      baseEnv(paths, { NODE_PATH: path.posix.join(paths.codeRoot, "node_modules") }),
  };
}

/** `dir/index.handler` → file `dir/index`, export `handler` (split at the last dot). */
export function splitHandler(handler: string): { file: string; name: string } {
  const i = handler.lastIndexOf(".");
  return i <= 0
    ? { file: handler, name: "" }
    : { file: handler.slice(0, i), name: handler.slice(i + 1) };
}
