import path from "node:path";
import type { SandboxPaths } from "../../sandbox/types.js";
import { baseEnv } from "../base-env.js";
import type { RuntimeDef } from "../types.js";

/** FunctionGraph Python runtime names served by the one installed python3 (no Python 2). */
export const PYTHON_RUNTIME_NAMES = ["Python3.6", "Python3.9", "Python3.10", "Python3.12"] as const;

export interface PythonRuntimeOptions {
  /** Absolute path of python3 as visible inside the sandbox; never a pyenv shim. */
  pythonPath: string;
  /** Host directory holding `runtime.py`. */
  shimDir: string;
}

export function createPythonRuntime(opts: PythonRuntimeOptions): RuntimeDef {
  return {
    language: "python",
    names: PYTHON_RUNTIME_NAMES,
    shimDir: opts.shimDir,
    entryFile: (handler) => {
      const i = handler.lastIndexOf(".");
      const mod = i <= 0 ? handler : handler.slice(0, i);
      return `${mod.replace(/\./g, "/")}.py`;
    },
    // -u: unbuffered stdio so logs precede results; -B: no .pyc in the read-only code dir;
    // -s: no user site-packages.
    command: (paths) => [
      opts.pythonPath,
      "-u",
      "-B",
      "-s",
      path.posix.join(paths.runtimeRoot, "runtime.py"),
    ],
    baseEnv: (paths: SandboxPaths) =>
      baseEnv(paths, {
        PYTHONUNBUFFERED: "1",
        PYTHONDONTWRITEBYTECODE: "1",
        // Dependency packages (issue 8, docs/dependencies.md) are merged into the code root:
        // packages at the root (pip install -t), a `python/` folder, or a `site-packages/` tree.
        PYTHONPATH: ["", "python", "site-packages"]
          .map((dir) => path.posix.join(paths.codeRoot, dir))
          .join(":"),
      }),
  };
}
