import { createBootstrapRuntime, type BootstrapRuntimeOptions } from "../custom/index.js";
import type { RuntimeDef } from "../types.js";

/** FunctionGraph name of HTTP functions (contract §3.10). */
export const HTTP_RUNTIME_NAMES = ["http"] as const;

/**
 * HTTP functions: the bootstrap serves 127.0.0.1:8000 in the instance's own network namespace
 * (`ownNetwork`: several instances each on port 8000, egress through slirp4netns); the shim of
 * the custom runtime (mode `http`) turns each APIG event into a request to it.
 */
export function createHttpRuntime(opts: BootstrapRuntimeOptions): RuntimeDef {
  return createBootstrapRuntime({
    ...opts,
    language: "http",
    names: HTTP_RUNTIME_NAMES,
    mode: "http",
    ownNetwork: true,
  });
}
