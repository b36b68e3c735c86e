import path from "node:path";
import { baseEnv } from "../base-env.js";
import type { RuntimeDef } from "../types.js";

/** FunctionGraph PHP runtime names, served by the installed php-cli (Debian: 8.2). */
export const PHP_RUNTIME_NAMES = ["PHP7.3", "PHP8.3"] as const;

export interface PhpRuntimeOptions {
  /** Absolute php-cli path as visible inside the sandbox. */
  phpPath: string;
  /** Host directory holding `runtime.php`. */
  shimDir: string;
}

export function createPhpRuntime(opts: PhpRuntimeOptions): RuntimeDef {
  return {
    language: "php",
    names: PHP_RUNTIME_NAMES,
    shimDir: opts.shimDir,
    entryFile: (handler) => {
      const i = handler.lastIndexOf(".");
      return `${i <= 0 ? handler : handler.slice(0, i)}.php`;
    },
    // No php.ini: the same behaviour whatever the host's configuration. memory_limit -1: the
    // cgroup is the limit, so running out is 4205 like for every other runtime.
    command: (paths) => [
      opts.phpPath,
      "-n",
      "-d",
      "memory_limit=-1",
      "-d",
      "display_errors=stderr",
      "-d",
      "log_errors=0",
      path.posix.join(paths.runtimeRoot, "runtime.php"),
    ],
    baseEnv,
  };
}
