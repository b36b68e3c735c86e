import { loadConfig } from "./core/config.js";
import { startPlatform } from "./main.js";

/** Flags of `fngraph serve`, all optional (env vars and defaults fill the rest). */
export interface ServeFlags {
  host?: string;
  port?: string;
  gatewayPort?: string;
  dataDir?: string;
  region?: string;
  store?: string;
  keepAlive?: string;
  isolation?: string;
  logLevel?: string;
}

/**
 * `fngraph serve`: every role in one process. SIGTERM, SIGINT and SIGHUP (its terminal closed)
 * shut it down cleanly: instances stopped, their cgroups and /tmp volumes removed.
 */
export async function serve(flags: ServeFlags): Promise<void> {
  const config = loadConfig({
    host: flags.host,
    port: flags.port,
    gatewayPort: flags.gatewayPort,
    dataDir: flags.dataDir,
    region: flags.region,
    store: flags.store,
    keepAliveSeconds: flags.keepAlive,
    isolation: flags.isolation,
    logLevel: flags.logLevel,
  });
  const platform = await startPlatform(config);
  const c = platform.credentials;
  const tierNote = platform.isolation.tier === "C" ? "  (NO ISOLATION: development only)" : "";
  process.stdout.write(
    [
      "",
      "  fngraph is running",
      `  API endpoint      ${c.endpoint}`,
      `  Gateway endpoint  ${c.gateway_endpoint}`,
      `  Region            ${c.region}`,
      `  Project id        ${c.project_id}`,
      `  Domain            ${c.domain_name} (${c.domain_id})`,
      `  Access key        ${c.access_key}`,
      `  Secret key        ${c.secret_key}`,
      `  User / password   ${c.user} / ${c.password}`,
      `  Isolation         ${platform.isolation.description}${tierNote}`,
      `  Data directory    ${config.dataDir}`,
      `  Credentials file  ${config.dataDir}/credentials.json`,
      "",
      "",
    ].join("\n"),
  );
  // Once nobody reads the platform's output (a closed terminal, a supervisor gone), writing it
  // fails with EPIPE: that must not crash the platform (or its clean shutdown). The logger drops
  // its output by itself then.
  process.stdout.on("error", () => {});
  process.stderr.on("error", () => {});
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`fngraph: ${signal} received, shutting down\n`);
    platform.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGHUP", () => stop("SIGHUP"));
}
