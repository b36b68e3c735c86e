import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Duplex, Readable } from "node:stream";
import type { Logger } from "../core/logger.js";
import { processAlive } from "../core/process-alive.js";
import type { Sandbox, SandboxExit, SandboxPaths, SandboxProcess, SandboxSpec } from "./types.js";

export interface PlainProcessSandboxOptions {
  logger: Logger;
  /**
   * Where the per-instance scratch dirs go: in `<tmpRoot>/<pid>`, deleted at close. At start the
   * dirs of platforms no longer running (killed, crashed) are deleted. Default: a fresh
   * `<os.tmpdir()>/fngraph-c-*`, deleted at close.
   */
  tmpRoot?: string;
}

/** After the runtime itself exits, how long to wait for stragglers holding its pipes open. */
const CLOSE_GRACE_MS = 2000;

/**
 * Tier C (ARCHITECTURE §5): plain child processes, no isolation and no limits. For development
 * and machines without bwrap/cgroups. The process gets exactly `spec.env` and its own process
 * group, so kill() takes its children too (unless they setsid away: tier C cannot stop that).
 */
export function createPlainProcessSandbox(opts: PlainProcessSandboxOptions): Sandbox {
  if (opts.tmpRoot !== undefined) sweepDeadPlatforms(opts.tmpRoot);
  const tmpRoot =
    opts.tmpRoot !== undefined
      ? path.join(opts.tmpRoot, String(process.pid))
      : mkdtempSync(path.join(os.tmpdir(), "fngraph-c-"));
  mkdirSync(tmpRoot, { recursive: true, mode: 0o700 });
  const live = new Set<SandboxProcess>();
  const logger = opts.logger.child({ sandbox: "C" });

  const paths = (spec: Pick<SandboxSpec, "id" | "codeDir" | "runtimeDir">): SandboxPaths => ({
    codeRoot: spec.codeDir,
    runtimeRoot: spec.runtimeDir,
    tmpDir: path.join(tmpRoot, spec.id),
  });

  async function launch(spec: SandboxSpec): Promise<SandboxProcess> {
    const [file, ...args] = spec.argv;
    if (!file) throw new Error("sandbox spec has an empty argv");
    const { tmpDir } = paths(spec);
    mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
    if (spec.mounts.length > 0 || spec.user) {
      // No mounts, so mount_user has nothing to own: the process runs as the platform's user.
      logger.debug(
        { id: spec.id, mounts: spec.mounts.length },
        "tier C ignores mounts and mount_user",
      );
    }

    const child = spawn(file, args, {
      env: spec.env,
      cwd: spec.codeDir,
      stdio: ["ignore", "pipe", "pipe", "pipe"],
      detached: true,
    });
    const removeTmp = () => rmSync(tmpDir, { recursive: true, force: true });

    try {
      await new Promise<void>((resolve, reject) => {
        child.once("spawn", resolve);
        child.once("error", reject);
      });
    } catch (err) {
      removeTmp();
      throw err;
    }
    const pid = child.pid;
    if (pid === undefined) throw new Error("spawned child has no pid");
    child.on("error", (err) => logger.warn({ id: spec.id, err }, "sandbox child error"));

    const killGroup = () => {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // ESRCH: the group is already gone
      }
    };

    const exited = new Promise<SandboxExit>((resolve) => {
      let exit: SandboxExit | undefined;
      const done = () => {
        if (!exit) return;
        live.delete(proc);
        removeTmp();
        resolve(exit);
      };
      child.once("exit", (code, signal) => {
        exit = { code, signal };
        // The runtime is gone; whatever else is left in its group goes too.
        killGroup();
        const t = setTimeout(() => {
          for (const s of [child.stdout, child.stderr, child.stdio[3]]) s?.destroy();
          done();
        }, CLOSE_GRACE_MS);
        t.unref();
        child.once("close", () => {
          clearTimeout(t);
          done();
        });
      });
    });

    let killing: Promise<void> | undefined;
    const proc: SandboxProcess = {
      id: spec.id,
      pid,
      channel: child.stdio[3] as Duplex,
      stdout: child.stdout as Readable,
      stderr: child.stderr as Readable,
      exited,
      peakMemoryBytes: () => undefined,
      resetPeakMemory: () => {},
      oomKilled: () => false,
      applyRuntimeLimits: () => {},
      // No freezer without cgroups: an idle-mode instance simply stays running.
      freeze: () => {},
      thaw: () => {},
      kill() {
        killing ??= (async () => {
          killGroup();
          await exited;
        })();
        return killing;
      },
    };
    live.add(proc);
    return proc;
  }

  return {
    tier: "C",
    description: "plain processes (no isolation, no limits)",
    paths,
    launch,
    async close() {
      await Promise.all([...live].map((p) => p.kill()));
      rmSync(tmpRoot, { recursive: true, force: true });
    },
  };
}

/**
 * Delete the scratch dirs (`<root>/<pid>`) of platforms that are not running any more: a platform
 * killed with -9 never deleted its own (its instances end when their channel closes).
 */
function sweepDeadPlatforms(root: string): void {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  for (const e of readdirSync(root)) {
    const pid = Number(e);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) continue;
    rmSync(path.join(root, e), { recursive: true, force: true });
  }
}
