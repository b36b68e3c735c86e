import type { BlobStore } from "../blobs/types.js";
import type { Clock } from "../core/clock.js";
import type { DependencyRef, FunctionRecord, FunctionVersion } from "../core/types.js";
import type { FunctionRef } from "../core/urn.js";
import type { Invoker } from "../invoker/invoker.js";
import type { RuntimeDef } from "../runtimes/types.js";
import type { Store } from "../store/index.js";
import type { RandomSource, RouteReason } from "./alias-router.js";
import type { VersionHooks } from "./versions-service.js";

/** Types of the function service (function-service.ts). */

export interface FunctionServiceDeps {
  /**
   * Checks and resolves `depend_version_list` (dependency-service.ts). Without it the list is
   * stored unchecked and no dependency is laid out with the code.
   */
  dependencies?: {
    attach(projectId: string, runtime: string, ids: readonly string[]): Promise<DependencyRef[]>;
  };
  store: Store;
  blobs: BlobStore;
  invoker: Pick<Invoker, "retire">;
  runtimes: { get(name: string): RuntimeDef | undefined; names(): string[] };
  clock: Clock;
  region: string;
  defaultMaxInstances: number;
  /** Per-version state of other features (async config, triggers); see VersionHooks. */
  hooks?: VersionHooks;
  /** Uniform [0,1) source for alias weights; tests pass a seeded one. Default Math.random. */
  random?: RandomSource;
  /** Host directories functions may mount (config mountRoots); default none. */
  mountRoots?: readonly string[];
}

/** A function and one of its versions, resolved from a URN. */
export interface Resolved {
  fn: FunctionRecord;
  version: FunctionVersion;
  ref: FunctionRef;
  /** Alias the URN named ("" when none). */
  alias: string;
  /** How an alias picked `version` (only when resolved for an invocation through an alias). */
  route?: RouteReason;
}

/** Pass to `resolve` when the URN is resolved for an invocation. */
export interface InvokeRouting {
  /** Request headers, lower-case names: alias header rules match against them. */
  headers: Record<string, string>;
}
