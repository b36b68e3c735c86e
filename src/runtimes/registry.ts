import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createCustomRuntime } from "./custom/index.js";
import { createGoRuntime } from "./go/index.js";
import { createHttpRuntime } from "./http/index.js";
import { createJavaRuntime } from "./java/index.js";
import { createNodeRuntime } from "./nodejs/index.js";
import { createPhpRuntime } from "./php/index.js";
import { createPythonRuntime } from "./python/index.js";
import type { RuntimeDef } from "./types.js";

export interface RuntimeRegistryOptions {
  /** Absolute node binary (config `nodePath`). */
  nodePath: string;
  /** Absolute python3 (config `pythonPath`); default /usr/bin/python3. */
  pythonPath?: string;
  /** php-cli; default /usr/bin/php when installed (else no PHP runtime names). */
  phpPath?: string;
  /** java launcher; default /usr/bin/java when installed (else no Java runtime names). */
  javaPath?: string;
  /** Directory holding `nodejs/shim` and `python/shim`; default: located from this module. */
  shimRoot?: string;
}

export interface RuntimeRegistry {
  /** The definition serving a FunctionGraph runtime name (`Node.js18.15`), if any. */
  get(name: string): RuntimeDef | undefined;
  /** Every runtime name served. */
  names(): string[];
}

/** The one place runtime names map to definitions (add a runtime: a folder + one line here). */
export function createRuntimeRegistry(opts: RuntimeRegistryOptions): RuntimeRegistry {
  const shimRoot = opts.shimRoot ?? locateShimRoot();
  const defs: RuntimeDef[] = [
    createNodeRuntime({ nodePath: opts.nodePath, shimDir: path.join(shimRoot, "nodejs", "shim") }),
    createPythonRuntime({
      pythonPath: opts.pythonPath ?? "/usr/bin/python3",
      shimDir: path.join(shimRoot, "python", "shim"),
    }),
    // Custom, http and Go1.x share the bootstrap shim (custom/shim), run by node.
    ...[createCustomRuntime, createHttpRuntime, createGoRuntime].map((create) =>
      create({ nodePath: opts.nodePath, shimDir: path.join(shimRoot, "custom", "shim") }),
    ),
  ];
  const phpPath = opts.phpPath ?? installed("/usr/bin/php");
  if (phpPath)
    defs.push(createPhpRuntime({ phpPath, shimDir: path.join(shimRoot, "php", "shim") }));
  const javaPath = opts.javaPath ?? installed("/usr/bin/java");
  if (javaPath) {
    defs.push(createJavaRuntime({ javaPath, shimDir: path.join(shimRoot, "java", "shim") }));
  }
  const byName = new Map<string, RuntimeDef>();
  for (const def of defs) for (const name of def.names) byName.set(name, def);
  return {
    get: (name) => byName.get(name),
    names: () => [...byName.keys()],
  };
}

/**
 * The shims are plain files kept in src/ (tsc does not copy them): next to this module when run
 * from source, else `<package root>/src/runtimes` when run from dist/.
 */
export function locateShimRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  if (existsSync(path.join(here, "nodejs", "shim", "runtime.cjs"))) return here;
  for (let dir = here; ;) {
    if (existsSync(path.join(dir, "package.json"))) {
      const candidate = path.join(dir, "src", "runtimes");
      if (existsSync(path.join(candidate, "nodejs", "shim", "runtime.cjs"))) return candidate;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`runtime shims not found from ${here}`);
    dir = up;
  }
}

function installed(p: string): string | undefined {
  return existsSync(p) ? p : undefined;
}
