import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { toErrorLine } from "./errors.js";
import { isCliError } from "./errors.js";

/** Everything a command touches outside its arguments; tests pass their own. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Progress bars are drawn only on a terminal. */
  stderrIsTTY: boolean;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  now: () => number;
  setExitCode: (code: number) => void;
}

/** The process's own streams, env and exit code. */
export function createProcessIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    stderrIsTTY: process.stderr.isTTY === true,
    env: process.env,
    cwd: process.cwd(),
    now: () => Date.now(),
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
}

/** Where profiles live: `$FNGRAPH_CLI_HOME` or `~/.fngraph`. */
export function cliHome(io: CliIo): string {
  const fromEnv = io.env["FNGRAPH_CLI_HOME"];
  if (fromEnv) return path.resolve(io.cwd, fromEnv);
  return path.join(io.env["HOME"] ?? os.homedir(), ".fngraph");
}

/** Options every command understands. */
export interface GlobalOptions {
  profile?: string;
  json?: boolean;
}

/** What an action receives besides its own arguments. */
export interface CommandContext {
  io: CliIo;
  /** Profile name from `--profile` / `FNGRAPH_PROFILE`; undefined = the current one. */
  profile: string | undefined;
  json: boolean;
}

/**
 * Wraps an action so that every failure becomes one stderr line and a nonzero exit code instead
 * of an exception: the same path for the real process and for tests.
 */
export function action<A extends unknown[]>(
  io: CliIo,
  run: (ctx: CommandContext, ...args: A) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const opts = command.optsWithGlobals<GlobalOptions>();
    const ctx: CommandContext = {
      io,
      profile: opts.profile ?? io.env["FNGRAPH_PROFILE"],
      json: opts.json === true,
    };
    try {
      await run(ctx, ...(args.slice(0, -1) as A));
    } catch (err) {
      io.stderr(toErrorLine(err) + "\n");
      io.setExitCode(isCliError(err) ? err.exitCode : 1);
    }
  };
}
