import { Command } from "commander";

export interface ProgramDeps {
  /** `fngraph serve`; injected by the entry point so the CLI never imports the server. */
  serve: (flags: Record<string, string | undefined>) => Promise<void>;
}

/** The `fngraph` command. Every command except `serve` talks to the API over HTTP only. */
export function createProgram(deps: ProgramDeps): Command {
  const program = new Command("fngraph").description(
    "fngraph: a self-hosted FunctionGraph-compatible serverless platform",
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
  return program;
}
