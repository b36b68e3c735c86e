import path from "node:path";
import { FsError } from "../../core/errors.js";
import { findEntry } from "../../packages/handler-entry.js";
import type { ZipEntry } from "../../packages/zip-entry.js";
import { baseEnv } from "../base-env.js";
import { nodeArgs } from "../nodejs/index.js";
import type { Language, RuntimeDef } from "../types.js";

/** FunctionGraph names of the custom runtime (contract §3.8). */
export const CUSTOM_RUNTIME_NAMES = ["Custom"] as const;

export interface BootstrapRuntimeOptions {
  /** Absolute node binary, as visible inside the sandbox: the shim is a Node.js script. */
  nodePath: string;
  /** Host directory holding `runtime.cjs` (src/runtimes/custom/shim). */
  shimDir: string;
}

/** The relay shim is small; its heap stays far below the function's memory. */
const BOOTSTRAP_SHIM_HEAP_MB = 32;

/**
 * A runtime whose package starts itself from an executable `bootstrap`: the shim
 * (`custom/shim/runtime.cjs`) runs it and relays invocations either through the runtime API
 * (`custom`) or to its HTTP server on 127.0.0.1:8000 (`http`).
 */
export function createBootstrapRuntime(
  opts: BootstrapRuntimeOptions & {
    language: Language;
    names: readonly string[];
    mode: "custom" | "http";
    ownNetwork: boolean;
  },
): RuntimeDef {
  return {
    language: opts.language,
    names: opts.names,
    shimDir: opts.shimDir,
    entryFile: () => "bootstrap",
    command: (paths) => [
      ...nodeArgs(opts.nodePath, BOOTSTRAP_SHIM_HEAP_MB),
      path.posix.join(paths.runtimeRoot, "runtime.cjs"),
      opts.mode,
    ],
    baseEnv,
    checkPackage: checkBootstrap,
    freeHandler: true,
    ownNetwork: opts.ownNetwork,
  };
}

/** The package root must hold an executable `bootstrap` file (contract §3.8). */
export function checkBootstrap(entries: readonly ZipEntry[]): void {
  const e = findEntry(entries, "bootstrap");
  if (!e) {
    throw new FsError(
      "HANDLER_FILE_NOT_FOUND",
      "The code package has no 'bootstrap' file at its root; Custom and http functions start from it.",
    );
  }
  if (!e.isSymlink && (e.mode & 0o111) === 0) {
    throw new FsError(
      "INVALID_CODE",
      "'bootstrap' is not executable; zip it with its mode (chmod +x bootstrap; zip keeps Unix modes).",
    );
  }
}

export function createCustomRuntime(opts: BootstrapRuntimeOptions): RuntimeDef {
  return createBootstrapRuntime({
    ...opts,
    language: "custom",
    names: CUSTOM_RUNTIME_NAMES,
    mode: "custom",
    ownNetwork: false,
  });
}
