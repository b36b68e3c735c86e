import { createBootstrapRuntime, type BootstrapRuntimeOptions } from "../custom/index.js";
import type { RuntimeDef } from "../types.js";

/** FunctionGraph name of the Go runtime. */
export const GO_RUNTIME_NAMES = ["Go1.x"] as const;

/**
 * Go functions run through the custom-runtime path: the package holds a compiled `bootstrap`
 * that pulls events from the runtime API (docs/runtimes.md shows the ~40-line loop). The Go
 * SDK's net/rpc protocol (contract §3.9) is not spoken.
 */
export function createGoRuntime(opts: BootstrapRuntimeOptions): RuntimeDef {
  return createBootstrapRuntime({
    ...opts,
    language: "go",
    names: GO_RUNTIME_NAMES,
    mode: "custom",
    ownNetwork: false,
  });
}
