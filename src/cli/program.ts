import { Command, CommanderError } from "commander";
import { registerFn } from "./commands/fn.js";
import { registerInvoke } from "./commands/invoke.js";
import { registerLogin } from "./commands/login.js";
import { createProcessIo, type CliIo } from "./context.js";

export interface ProgramDeps {
  /** `fngraph serve`; injected by the entry point so the CLI never imports the server. */
  serve: (flags: Record<string, string | undefined>) => Promise<void>;
  /** Streams, env, clock and exit code; default: the process's own. */
  io?: Partial<CliIo>;
  /** Throw a CommanderError on usage errors instead of exiting (tests). */
  exitOverride?: boolean;
}

/** The `fngraph` command. Every command except `serve` talks to the API over HTTP only. */
export function createProgram(deps: ProgramDeps): Command {
  const io: CliIo = { ...createProcessIo(), ...deps.io };
  const program = new Command("fngraph").description(
    "fngraph: a self-hosted FunctionGraph-compatible serverless platform",
  );
  // Set before any subcommand is added: subcommands copy these settings when created.
  program.configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  if (deps.exitOverride) program.exitOverride();
  program.option(
    "--profile <name>",
    "saved login to use (FNGRAPH_PROFILE; default: the last one logged in)",
  );

  program
    .command("serve")
    .description("start the platform (every role in one process)")
    .option("--host <host>", "bind address (FNGRAPH_HOST, default 127.0.0.1)")
    .option("--port <port>", "API port, 0 = any free port (FNGRAPH_PORT, default 8080)")
    .option(
      "--gateway-port <port>",
      "gateway port, 0 = any free port (FNGRAPH_GATEWAY_PORT, default 8081)",
    )
    .option("--data-dir <dir>", "data directory (FNGRAPH_DATA_DIR, default ./data)")
    .option("--region <name>", "region name (FNGRAPH_REGION, default local-1)")
    .option("--store <url>", "metadata store (FNGRAPH_STORE, default sqlite:<data>/fngraph.db)")
    .option("--keep-alive <seconds>", "idle instance keep-alive (FNGRAPH_KEEP_ALIVE, default 60)")
    .option("--isolation <tier>", "auto | A | B | C (FNGRAPH_ISOLATION, default auto)")
    .option("--log-level <level>", "platform log level (FNGRAPH_LOG_LEVEL, default info)")
    .action(async (flags: Record<string, string | undefined>) => {
      await deps.serve(flags);
    });

  registerLogin(program, io);
  registerFn(program, io);
  registerInvoke(program, io);
  return program;
}

/**
 * Runs one command line (without `node` and the script name) and resolves to its exit code;
 * usage errors give commander's code instead of exiting the process.
 */
export async function runCli(argv: readonly string[], deps: ProgramDeps): Promise<number> {
  let code = 0;
  const program = createProgram({
    ...deps,
    exitOverride: true,
    io: {
      ...deps.io,
      setExitCode: (c) => {
        code = c;
        deps.io?.setExitCode?.(c);
      },
    },
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  return code;
}
