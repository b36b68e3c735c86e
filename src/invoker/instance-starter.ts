import { performance } from "node:perf_hooks";
import type { DependencyRef } from "../core/types.js";
import type { Logger } from "../core/logger.js";
import { createInstance, type Instance } from "../runtimes/instance.js";
import type { LoadSpec, RuntimeDef } from "../runtimes/types.js";
import type { Sandbox, SandboxMount, SandboxUser } from "../sandbox/types.js";
import { cpuMillicores, functionEnv } from "./function-env.js";
import { parseNetworkController, resolveMounts, resolveMountUser } from "./mounts.js";
import { StartFailure, type Started } from "./pool.js";
import type { PrewarmPool } from "./prewarm-pool.js";
import type { InvokeTarget } from "./types.js";

export interface StarterOptions {
  sandbox: Sandbox;
  codeDir: (digest: string, dependencies: readonly DependencyRef[]) => Promise<string>;
  mountRoots: readonly string[];
  maxLogBytes?: number;
  prewarm?: PrewarmPool;
}

/** Starts one instance of a function: from the prewarmed pool when it has a fit, else cold. */
export type StartInstance = (
  t: InvokeTarget,
  runtime: RuntimeDef,
  memoryMb: number,
  log: Logger,
) => Promise<Started>;

export function createInstanceStarter(opts: StarterOptions): StartInstance {
  let seq = 0;

  const loadSpec = (t: InvokeTarget, env: Record<string, string>): LoadSpec => ({
    handler: t.version.handler,
    initializer: t.version.initializerHandler,
    initializerTimeoutMs: t.version.initializerTimeout * 1000,
    env,
  });

  return async (t, runtime, memoryMb, log) => {
    const t0 = performance.now();
    let mounts: SandboxMount[];
    let network: "full" | "loopback";
    let user: SandboxUser | undefined;
    try {
      // Checked when the config was saved; checked again because the host or mountRoots may
      // have changed since.
      mounts = resolveMounts(t.version.extra["mount_config"], opts.mountRoots);
      user = resolveMountUser(t.version.extra["mount_config"]);
      network = parseNetworkController(t.version.extra["network_controller"]).disablePublicNetwork
        ? "loopback"
        : "full";
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new StartFailure(
        4201,
        { errorMessage: `initialization failed: ${message}`, errorType: "MountError" },
        "",
      );
    }
    const tmpMb = t.version.ephemeralStorage;
    // Mounts and the uid are fixed at launch: prewarmed sandboxes have none and run as 1003.
    const slot =
      mounts.length === 0 && !user
        ? opts.prewarm?.take({ runtime, memoryMb, network, tmpMb })
        : undefined;
    let codeDir: string;
    try {
      codeDir = await opts.codeDir(t.version.codeDigest, t.version.dependencies ?? []);
    } catch (err) {
      // A taken slot is never returned to the pool: stop it.
      if (slot) await slot.runtime.kill();
      throw err;
    }
    try {
      if (slot) {
        try {
          await slot.showCode(codeDir);
        } catch (err) {
          await slot.runtime.kill();
          throw err;
        }
        const paths = opts.sandbox.paths({
          id: slot.runtime.id,
          codeDir: slot.codeDir,
          runtimeDir: runtime.shimDir,
        });
        const env = { ...runtime.baseEnv(paths), ...functionEnv(t.fn, t.version, paths, memoryMb) };
        const placementMs = performance.now() - t0;
        const instance = await slot.runtime.load(loadSpec(t, env));
        return {
          instance,
          anatomy: {
            placementMs,
            sandboxMs: 0,
            bootMs: 0,
            loadMs: instance.timings.loadMs,
            initializerMs: instance.timings.initializerMs,
            prewarmed: true,
          },
        };
      }
      const id = `${t.fn.name.slice(0, 20)}-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
      const paths = opts.sandbox.paths({ id, codeDir, runtimeDir: runtime.shimDir });
      const env = { ...runtime.baseEnv(paths), ...functionEnv(t.fn, t.version, paths, memoryMb) };
      const placementMs = performance.now() - t0;
      const instance: Instance = await createInstance({
        id,
        sandbox: opts.sandbox,
        runtime,
        codeDir,
        memoryMb,
        cpuMillicores: cpuMillicores(memoryMb),
        tmpMb,
        network,
        mounts,
        ...(user ? { user } : {}),
        load: loadSpec(t, env),
        logger: log.child({ instanceId: id }),
        ...(opts.maxLogBytes ? { maxLogBytes: opts.maxLogBytes } : {}),
      });
      const tm = instance.timings;
      return {
        instance,
        anatomy: {
          placementMs,
          sandboxMs: tm.sandboxMs,
          bootMs: tm.bootMs,
          loadMs: tm.loadMs,
          initializerMs: tm.initializerMs,
          prewarmed: false,
        },
      };
    } catch (err) {
      const e = err as {
        name?: string;
        errorCode?: number;
        error?: StartFailure["payload"];
        log?: string;
      };
      if (e?.name === "InstanceStartError" && typeof e.errorCode === "number" && e.error) {
        throw new StartFailure(e.errorCode, e.error, e.log ?? "");
      }
      throw err;
    }
  };
}
