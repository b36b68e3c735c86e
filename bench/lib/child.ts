import { spawn, type ChildProcess } from "node:child_process";

/** A child process the bench started, in its own process group so stop() takes its children too. */
export interface Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<string>;
  /** Last ~64 KiB of stdout+stderr, for error reports. */
  output(): string;
  /** Resolves with the first stdout line matching `re`; rejects if the process exits first. */
  waitForLine(re: RegExp, timeoutMs: number): Promise<string>;
  /** SIGTERM to the child, then SIGKILL to its whole group (after `graceMs` at most). Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Child>();

// Last resort on any exit path (uncaught error, process.exit): no server may outlive the bench.
process.once("exit", () => {
  for (const c of live) killGroup(c.pid, "SIGKILL");
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

export function spawnChild(
  command: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv },
): Child {
  const proc = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (proc.pid === undefined) throw new Error(`cannot start ${command}`);
  const pid = proc.pid;
  let out = "";
  let pending = "";
  const lineWaiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const keep = (s: string): void => {
    out = (out + s).slice(-65536);
  };
  proc.stdout?.setEncoding("utf8").on("data", (s: string) => {
    keep(s);
    pending += s;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      for (const w of [...lineWaiters]) {
        if (w.re.test(line)) {
          lineWaiters.splice(lineWaiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr?.setEncoding("utf8").on("data", keep);
  const exited = new Promise<string>((resolve) => {
    proc.once("exit", (code, signal) => resolve(signal ?? String(code)));
    proc.once("error", (err) => resolve(`error: ${err.message}`));
  });
  let stopping: Promise<void> | undefined;
  const child: Child = {
    proc,
    pid,
    exited,
    output: () => out,
    waitForLine(re, timeoutMs) {
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`${command}: no line matching ${String(re)} in ${timeoutMs} ms`));
        }, timeoutMs);
        lineWaiters.push({
          re,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void exited.then((how) => {
          clearTimeout(timer);
          reject(new Error(`${command} exited (${how}) while starting:\n${out}`));
        });
      });
    },
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        // SIGTERM to the leader only: the server shuts its own instances down cleanly.
        proc.kill("SIGTERM");
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
        clearTimeout(timer);
        // Anything left in the group (the server itself if it hung, or an instance it orphaned).
        killGroup(pid, "SIGKILL");
        await exited;
        live.delete(child);
      })();
      return stopping;
    },
  };
  live.add(child);
  return child;
}
