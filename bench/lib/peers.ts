import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { request } from "undici";
import { spawnChild, type Child } from "./child.js";

const run = promisify(execFile);

/**
 * serverless-offline 14 needs Serverless Framework v4, which will not run without logging in to
 * Serverless Inc.; v13 with Framework v3 runs fully offline. Both live in bench/.peers/
 * (git-ignored), never in fngraph's dependencies.
 */
export const PEER_PACKAGES = ["serverless@3", "serverless-offline@13"] as const;

function peersDir(repoRoot: string): string {
  return path.join(repoRoot, "bench", ".peers");
}

/** Install the peers into bench/.peers/ once (npm, its own package tree). */
export async function ensurePeers(repoRoot: string, log: (l: string) => void): Promise<string> {
  const dir = peersDir(repoRoot);
  const bin = path.join(dir, "node_modules", "serverless", "bin", "serverless.js");
  if (existsSync(bin) && existsSync(path.join(dir, "node_modules", "serverless-offline"))) {
    return bin;
  }
  log(`peers: npm install --prefix bench/.peers ${PEER_PACKAGES.join(" ")}`);
  await run(
    "npm",
    ["install", "--prefix", dir, "--no-audit", "--no-fund", "--loglevel=error", ...PEER_PACKAGES],
    { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
  );
  return bin;
}

export interface Offline {
  readonly origin: string;
  readonly pid: number;
  /** Path of the Lambda Invoke API for a function of the service. */
  invokePath(fn: string): string;
  stop(): Promise<void>;
}

/** A loopback port nothing listens on now (the kernel's pick for port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Start `serverless offline` for a service whose functions are the given handler sources
 * (`<name>.js`, exports.handler), on free ports. `reload` sets --reloadHandler: every call loads
 * the handler afresh (its cold start).
 */
export async function startOffline(opts: {
  repoRoot: string;
  handlers: Record<string, string>;
  memoryMb: number;
  reload?: boolean;
  log: (l: string) => void;
}): Promise<Offline> {
  const bin = await ensurePeers(opts.repoRoot, opts.log);
  const dir = mkdtempSync(path.join(os.tmpdir(), "fngraph-bench-offline-"));
  const fns = Object.keys(opts.handlers);
  for (const [name, src] of Object.entries(opts.handlers)) {
    writeFileSync(path.join(dir, `${name}.js`), src);
  }
  writeFileSync(
    path.join(dir, "serverless.yml"),
    [
      "service: bench",
      "frameworkVersion: '3'",
      "provider:",
      "  name: aws",
      "  runtime: nodejs20.x",
      "  stage: dev",
      "  region: us-east-1",
      `  memorySize: ${opts.memoryMb}`,
      "  timeout: 30",
      "plugins:",
      `  - ${path.join(path.dirname(path.dirname(path.dirname(bin))), "serverless-offline")}`,
      "functions:",
      ...fns.flatMap((f) => [`  ${f}:`, `    handler: ${f}.handler`]),
      "",
    ].join("\n"),
  );
  // Ports the kernel chose: a random one once hit the fngraph server's own, which then answered.
  const lambdaPort = await freePort();
  const args = [
    bin,
    "offline",
    "start",
    "--lambdaPort",
    String(lambdaPort),
    "--httpPort",
    String(await freePort()),
    "--noPrependStageInUrl",
    ...(opts.reload ? ["--reloadHandler"] : []),
  ];
  let child: Child | undefined;
  const stop = async (): Promise<void> => {
    await child?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    child = spawnChild(process.execPath, args, {
      cwd: dir,
      env: {
        ...process.env,
        SLS_TELEMETRY_DISABLED: "1",
        SLS_NOTIFICATIONS_MODE: "off",
        SLS_DEPRECATION_DISABLE: "*",
        AWS_ACCESS_KEY_ID: "offline",
        AWS_SECRET_ACCESS_KEY: "offline",
      },
    });
    // It announces itself on stderr; wait until the Lambda port answers instead.
    const origin = `http://127.0.0.1:${lambdaPort}`;
    const deadline = Date.now() + 90_000;
    for (;;) {
      try {
        const res = await request(`${origin}/`, { method: "GET" });
        await res.body.dump();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const c = child;
    return {
      origin: `http://127.0.0.1:${lambdaPort}`,
      pid: c.pid,
      invokePath: (fn) => `/2015-03-31/functions/bench-dev-${fn}/invocations`,
      stop,
    };
  } catch (err) {
    const out = child?.output() ?? "";
    await stop();
    throw new Error(
      `serverless offline did not start: ${err instanceof Error ? err.message : String(err)}\n${out.slice(-2000)}`,
    );
  }
}
