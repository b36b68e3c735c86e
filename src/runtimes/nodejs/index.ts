import path from "node:path";
import type { SandboxPaths } from "../../sandbox/types.js";
import { baseEnv } from "../base-env.js";
import type { RuntimeDef } from "../types.js";
import type { NodeSnapshots } from "./snapshots.js";

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
  /** Startup snapshots per heap limit (snapshots.ts); without, node starts from its own. */
  snapshots?: NodeSnapshots;
}

/** V8's old space gets this share of the function's memory; the rest is stacks, buffers, code. */
const HEAP_SHARE = 0.75;

/** `--max-old-space-size` of a Node.js function's runtime. */
export function nodeHeapMb(memoryMb: number): number {
  return Math.max(16, Math.floor(memoryMb * HEAP_SHARE));
}

/**
 * glibc's malloc for every node the platform starts (the shims take it out of their environment
 * before the function's code runs). Left dynamic, malloc raises its mmap and trim thresholds when
 * a large block is freed; a node started from a snapshot frees its 4 MB blob copy at start, and
 * then kept the pages of a call's freed Buffers (a 60 MB call left the instance at 100 MB instead
 * of 39), so the next call's peak still counted them. Fixed at glibc's initial 128 KB, large
 * blocks are mmap'd and go back to the kernel when freed, with or without the snapshot.
 */
export const NODE_MALLOC_ENV: Readonly<Record<string, string>> = Object.freeze({
  GLIBC_TUNABLES: "glibc.malloc.mmap_threshold=131072",
});

/**
 * node's argv up to the script: the heap limit, then the startup snapshot made under the same
 * limit when it is built (it spares compiling node's built-in modules, snapshots.ts).
 */
export function nodeArgs(nodePath: string, heapMb: number, snapshots?: NodeSnapshots): string[] {
  return [
    nodePath,
    `--max-old-space-size=${heapMb}`,
    ...(snapshots?.args(heapMb) ?? []),
    "--no-warnings",
  ];
}

export function createNodeRuntime(opts: NodeRuntimeOptions): RuntimeDef {
  return {
    language: "nodejs",
    warmUp: true,
    names: NODE_RUNTIME_NAMES,
    shimDir: opts.shimDir,
    entryFile: (handler) => `${splitHandler(handler).file}.js`,
    command: (paths, { memoryMb }) => [
      ...nodeArgs(opts.nodePath, nodeHeapMb(memoryMb), opts.snapshots),
      path.posix.join(paths.runtimeRoot, "runtime.cjs"),
    ],
    ...(opts.snapshots ? { sharedDirs: [opts.snapshots.dir] } : {}),
    baseEnv: (paths: SandboxPaths) =>
      baseEnv(paths, {
        NODE_PATH: path.posix.join(paths.codeRoot, "node_modules"),
        ...NODE_MALLOC_ENV,
      }),
  };
}

/** `dir/index.handler` → file `dir/index`, export `handler` (split at the last dot). */
export function splitHandler(handler: string): { file: string; name: string } {
  const i = handler.lastIndexOf(".");
  return i <= 0
    ? { file: handler, name: "" }
    : { file: handler.slice(0, i), name: handler.slice(i + 1) };
}
