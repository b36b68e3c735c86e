import path from "node:path";
import type { SandboxPaths } from "../sandbox/types.js";

/**
 * The environment every runtime starts from, built from nothing of the platform's own.
 * `own` holds a language's variables; they go after LANG and before LD_LIBRARY_PATH, so each
 * runtime's variables keep their order.
 */
export function baseEnv(
  paths: SandboxPaths,
  own: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: paths.tmpDir,
    TMPDIR: paths.tmpDir,
    LANG: "C.UTF-8",
    ...own,
    // Dependency packages (issue 8, docs/dependencies.md): native libraries in a `lib/` folder.
    LD_LIBRARY_PATH: path.posix.join(paths.codeRoot, "lib"),
    RUNTIME_CODE_ROOT: paths.codeRoot,
    RUNTIME_ROOT: paths.runtimeRoot,
  };
}
