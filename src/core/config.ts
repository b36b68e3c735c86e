import path from "node:path";
import { z } from "zod";

/** The one configuration object, parsed once at start-up and frozen (ARCHITECTURE §1). */
export const configSchema = z.object({
  host: z.string().min(1).default("127.0.0.1"),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  gatewayPort: z.coerce.number().int().min(0).max(65535).default(8081),
  dataDir: z.string().min(1).default("./data"),
  region: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/)
    .default("local-1"),
  /** `sqlite:<file>` (default `<data>/fngraph.db`) or `postgres://…`. */
  store: z.string().optional(),
  /** Seconds an idle instance is kept before it is stopped. */
  keepAliveSeconds: z.coerce.number().min(0).default(60),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Absolute interpreter paths; never a pyenv shim (see sandbox notes). */
  nodePath: z.string().default(process.execPath),
  pythonPath: z.string().default("/usr/bin/python3"),
  /** Sandbox tier: auto-detect, or force one (C = plain processes, development only). */
  isolation: z.enum(["auto", "A", "B", "C"]).default("auto"),
  /**
   * Tier A: remount cgroup2 with favordynmods when it is off (docs/sandbox.md): moving a process
   * into a cgroup then takes well under 1 ms instead of an RCU grace period (~10 ms).
   */
  cgroupFavorDynmods: z
    .preprocess(
      (v) => (typeof v === "string" ? !["0", "false", "off", "no"].includes(v.toLowerCase()) : v),
      z.boolean(),
    )
    .default(true),
  /** Project-wide concurrent executions quota. */
  concurrencyQuota: z.coerce.number().int().min(1).default(100),
  /** Host directories functions may mount under /mnt (mount_config.func_mounts). */
  mountRoots: z.array(z.string()).default([]),
  /** NATS server whose JetStream streams back DIS triggers. */
  natsUrl: z.string().min(1).default("nats://127.0.0.1:4222"),
  /** Host directories `depend_link: file://…` may read dependency ZIPs from; default none. */
  dependencyRoots: z.array(z.string()).default([]),
  /** Where the public dependencies built at install time live (manifest.json + ZIPs). */
  publicDependenciesDir: z.string().optional(),
  /**
   * Prewarmed runtimes (docs/scaling.md): `<language>:<memoryMB>[:full|loopback]=<count>,…`;
   * "" or "off" turns the pool off. Languages listed also grow a pool for other sizes on demand.
   */
  prewarm: z.string().default("nodejs:128=2"),
  /** Most prewarmed runtimes per (language, memory, network) that demand may grow to. */
  prewarmMax: z.coerce.number().int().min(0).max(64).default(4),
  /** Calls that may wait per function when all its allowed instances are busy. */
  maxQueue: z.coerce.number().int().min(0).default(1000),
  /** Seconds such a call waits for a free instance before 429. */
  queueTimeoutSeconds: z.coerce.number().min(0).default(60),
  /** Hours invocation records (with their logs) and ended async requests are kept; 0 = for ever. */
  recordRetentionHours: z.coerce.number().min(0).default(168),
});

export type Config = Readonly<z.infer<typeof configSchema> & { store: string; dataDir: string }>;

/** Flag/env names for every setting (ARCHITECTURE §1). */
const ENV: Record<string, string> = {
  host: "FNGRAPH_HOST",
  port: "FNGRAPH_PORT",
  gatewayPort: "FNGRAPH_GATEWAY_PORT",
  dataDir: "FNGRAPH_DATA_DIR",
  region: "FNGRAPH_REGION",
  store: "FNGRAPH_STORE",
  keepAliveSeconds: "FNGRAPH_KEEP_ALIVE",
  logLevel: "FNGRAPH_LOG_LEVEL",
  nodePath: "FNGRAPH_NODE",
  pythonPath: "FNGRAPH_PYTHON",
  isolation: "FNGRAPH_ISOLATION",
  cgroupFavorDynmods: "FNGRAPH_CGROUP_FAVOR_DYNMODS",
  concurrencyQuota: "FNGRAPH_CONCURRENCY_QUOTA",
  mountRoots: "FNGRAPH_MOUNT_ROOTS",
  natsUrl: "FNGRAPH_NATS_URL",
  dependencyRoots: "FNGRAPH_DEPENDENCY_ROOTS",
  publicDependenciesDir: "FNGRAPH_PUBLIC_DEPENDENCIES_DIR",
  prewarm: "FNGRAPH_PREWARM",
  prewarmMax: "FNGRAPH_PREWARM_MAX",
  maxQueue: "FNGRAPH_MAX_QUEUE",
  queueTimeoutSeconds: "FNGRAPH_QUEUE_TIMEOUT",
  recordRetentionHours: "FNGRAPH_RECORD_RETENTION_HOURS",
};

/**
 * Build the config from explicit options (flags, tests) over environment variables over defaults.
 * The only place that reads `process.env` for settings.
 */
export function loadConfig(
  options: Partial<Record<keyof typeof ENV, unknown>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const merged: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV)) {
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== "") {
      merged[key] =
        key === "mountRoots" || key === "dependencyRoots"
          ? fromEnv.split(":").filter(Boolean)
          : fromEnv;
    }
  }
  for (const [key, value] of Object.entries(options)) if (value !== undefined) merged[key] = value;
  const parsed = configSchema.parse(merged);
  const dataDir = path.resolve(parsed.dataDir);
  return Object.freeze({
    ...parsed,
    dataDir,
    store: parsed.store ?? `sqlite:${path.join(dataDir, "fngraph.db")}`,
    mountRoots: Object.freeze(parsed.mountRoots.map((p) => path.resolve(p))) as string[],
    dependencyRoots: Object.freeze(parsed.dependencyRoots.map((p) => path.resolve(p))) as string[],
  });
}
