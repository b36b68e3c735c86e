import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { runCli } from "../../src/cli/program.js";
import { loadConfig } from "../../src/core/config.js";
import { startPlatform, type Platform } from "../../src/main.js";

/** What one CLI run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliHarness {
  platform: Platform;
  /** Temp root: `data/` (server), `home/` (FNGRAPH_CLI_HOME), function folders. */
  root: string;
  home: string;
  credentialsFile: string;
  /** Runs `fngraph <args>` in-process with captured output. */
  cli(
    args: string[],
    opts?: { tty?: boolean; env?: Record<string, string>; now?: number },
  ): Promise<CliRun>;
  /** Writes files into a new folder under root and returns its path. */
  folder(name: string, files: Record<string, string | Buffer>): Promise<string>;
  close(): Promise<void>;
}

/** The real platform on port 0 with a temp data dir, plus a CLI bound to a temp home. */
export async function createCliHarness(): Promise<CliHarness> {
  const root = await mkdtemp(path.join(tmpdir(), "fngraph-cli-"));
  const home = path.join(root, "home");
  const platform = await startPlatform(
    loadConfig({
      port: 0,
      gatewayPort: 0,
      dataDir: path.join(root, "data"),
      logLevel: "silent",
      isolation: "C",
    }),
  );
  return {
    platform,
    root,
    home,
    credentialsFile: path.join(root, "data", "credentials.json"),
    cli: (args, opts = {}) =>
      runInProcess(args, {
        env: { FNGRAPH_CLI_HOME: home, HOME: root, ...opts.env },
        cwd: root,
        tty: opts.tty ?? false,
        ...(opts.now !== undefined ? { now: opts.now } : {}),
      }),
    async folder(name, files) {
      const dir = path.join(root, "functions", name);
      await rm(dir, { recursive: true, force: true });
      for (const [file, content] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
        await writeFile(path.join(dir, file), content);
      }
      return dir;
    },
    async close() {
      await platform.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** One CLI run with captured stdout/stderr and an injected env. */
export async function runInProcess(
  args: string[],
  opts: { env: Record<string, string>; cwd: string; tty: boolean; now?: number },
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    serve: () => Promise.reject(new Error("serve is not part of these tests")),
    io: {
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
      stderrIsTTY: opts.tty,
      env: opts.env,
      cwd: opts.cwd,
      ...(opts.now !== undefined ? { now: () => opts.now! } : {}),
      setExitCode: () => {},
    },
  });
  return { code, stdout, stderr };
}

/** A local port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
