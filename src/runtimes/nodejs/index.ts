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

/** `--max-old-space-size` of a Node.js function's runtime. */
export function nodeHeapMb(memoryMb: number): number {
  return Math.max(16, Math.floor(memoryMb * HEAP_SHARE));
}

/**
 * node's argv up to the script. The heap limit is a V8 flag; the shims set it back to its default
 * as soon as the heap is made, so that node accepts its built-ins' code cache (runtime.cjs).
 */
export function nodeArgs(nodePath: string, heapMb: number): string[] {
  return [nodePath, `--max-old-space-size=${heapMb}`, "--no-warnings"];
}

export function createNodeRuntime(opts: NodeRuntimeOptions): RuntimeDef {
  return {
    language: "nodejs",
    warmUp: true,
    names: NODE_RUNTIME_NAMES,
    shimDir: opts.shimDir,
    entryFile: (handler) => `${splitHandler(handler).file}.js`,
    command: (paths, { memoryMb }) => [
      ...nodeArgs(opts.nodePath, nodeHeapMb(memoryMb)),
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
