import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import path from "node:path";
import type { Credentials } from "../../src/main.js";

const root = path.resolve(import.meta.dirname, "..", "..");
/** Children started here that have not exited yet (for `killChildPlatforms`). */
const running = new Set<ChildProcess>();

export interface ChildPlatform {
  child: ChildProcess;
  /** What the child wrote to `<dataDir>/credentials.json`. */
  creds: Credentials;
  /** Everything the child has written to stdout and stderr so far. */
  output(): string;
  /** Sends `signal` and resolves with the exit code once the child has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * `fngraph serve` as a real process (through tsx, from source) on port 0 and `dataDir`, at
 * `--log-level warn`; resolves once it prints its banner. `args` go after the usual ones.
 */
export async function startChildPlatform(opts: {
  dataDir: string;
  isolation?: string;
  args?: string[];
  env?: Record<string, string>;
}): Promise<ChildPlatform> {
  const credFile = path.join(opts.dataDir, "credentials.json");
  rmSync(credFile, { force: true });
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(root, "src", "entry.ts"),
      "serve",
      "--port",
      "0",
      "--gateway-port",
      "0",
      "--data-dir",
      opts.dataDir,
      "--isolation",
      opts.isolation ?? "C",
      "--log-level",
      "warn",
      ...(opts.args ?? []),
    ],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FNGRAPH_HOST: "127.0.0.1", ...opts.env },
    },
  );
  running.add(child);
  child.once("exit", () => running.delete(child));
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`server exited early (${code}): ${out}`));
    child.once("exit", onExit);
    const check = setInterval(() => {
      if (out.includes("fngraph is running")) {
        clearInterval(check);
        child.off("exit", onExit);
        resolve();
      }
    }, 20);
  });
  return {
    child,
    creds: JSON.parse(readFileSync(credFile, "utf8")) as Credentials,
    output: () => out,
    stop: (signal = "SIGTERM") => {
      if (child.exitCode !== null || child.signalCode !== null)
        return Promise.resolve(child.exitCode);
      const exited = new Promise<number | null>((resolve) =>
        child.once("exit", (code) => resolve(code)),
      );
      child.kill(signal);
      return exited;
    },
  };
}

/** For afterAll: SIGKILL every child platform still running and wait until they have exited. */
export async function killChildPlatforms(): Promise<void> {
  const left = [...running];
  const exits = left.map((c) => new Promise((resolve) => c.once("exit", resolve)));
  for (const c of left) c.kill("SIGKILL");
  await Promise.all(exits);
}

/** Pids whose working directory is inside `dir` (function instances run in their code dir). */
export function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`).startsWith(dir)) pids.push(Number(name));
    } catch {
      // gone or not ours to read
    }
  }
  return pids;
}
