import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { Credentials } from "./api.js";
import { spawnChild, type Child } from "./child.js";

const run = promisify(execFile);

export interface ServerOptions {
  repoRoot: string;
  /** Forwarded as `--isolation`; undefined lets the server auto-detect. */
  isolation: string | undefined;
  /** Run the existing dist/ (bin/fngraph.js) instead of a private build of the working tree. */
  useDist: boolean;
  /** Build this git ref (a clean snapshot) instead of the working tree. */
  ref: string | undefined;
  log: (line: string) => void;
  /**
   * Extra environment (FNGRAPH_* settings). Default: the prewarmed pool off, so the main server's
   * cold starts are plain ones; the scaling section starts a second server with it on.
   */
  env?: Record<string, string>;
  /** Node options before the entry script (e.g. `--cpu-prof` for a profile of the server). */
  nodeArgs?: readonly string[];
}

export interface Server {
  readonly credentials: Credentials;
  readonly dataDir: string;
  readonly pid: number;
  /** How the server code was obtained, for the report. */
  readonly build: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * The private build lives in the repo's git-ignored `.tmp/` rather than `dist/`: other sessions
 * run tests against dist/ while we benchmark, and a rebuild under their feet helps nobody.
 * It must sit inside the repo so the server finds `src/runtimes/<lang>/shim` and node_modules by
 * walking up, exactly as it does from dist/.
 */
function buildDir(repoRoot: string): string {
  return path.join(repoRoot, ".tmp", "bench-dist");
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const m = statSync(path.join(entry.parentPath, entry.name)).mtimeMs;
    if (m > newest) newest = m;
  }
  return newest;
}

async function tsc(cwd: string, tscBin: string, outDir: string): Promise<void> {
  try {
    await run(process.execPath, [tscBin, "-p", "tsconfig.build.json", "--outDir", outDir], {
      cwd,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(
      `tsc failed, not benchmarking a broken tree (try --ref HEAD):\n${e.stdout ?? ""}${e.stderr ?? ""}`,
    );
  }
}

/** Compile src/ with tsconfig.build.json into the private build dir if any source is newer. */
async function ensureBuild(repoRoot: string, log: (l: string) => void): Promise<string> {
  const out = buildDir(repoRoot);
  const stampFile = path.join(out, ".bench-stamp");
  const sourcesAt = Math.max(
    newestMtime(path.join(repoRoot, "src")),
    statSync(path.join(repoRoot, "tsconfig.json")).mtimeMs,
    statSync(path.join(repoRoot, "tsconfig.build.json")).mtimeMs,
  );
  const builtAt = existsSync(stampFile) ? Number(readFileSync(stampFile, "utf8")) : 0;
  const entry = path.join(out, "entry.js");
  if (builtAt >= sourcesAt && existsSync(entry)) {
    log(`server: reusing build in ${path.relative(repoRoot, out)} (no source newer)`);
    return `private tsc build of the working tree (cached, ${new Date(builtAt).toISOString()})`;
  }
  log(`server: compiling src/ → ${path.relative(repoRoot, out)} (tsconfig.build.json)`);
  rmSync(out, { recursive: true, force: true });
  const startedAt = Date.now();
  await tsc(repoRoot, tscBin(repoRoot), out);
  writeFileSync(stampFile, String(startedAt));
  return `private tsc build of the working tree (${new Date(startedAt).toISOString()})`;
}

function tscBin(repoRoot: string): string {
  return path.join(repoRoot, "node_modules", "typescript", "bin", "tsc");
}

/**
 * Build a committed tree instead of the working tree (others edit src/ while we measure): `git
 * archive <ref>` into .tmp/bench-ref-<sha>/ with node_modules linked from the repo, compiled to its
 * own dist/. Cached per commit. Returns the snapshot's entry.js.
 */
async function ensureRefBuild(
  repoRoot: string,
  ref: string,
  log: (l: string) => void,
): Promise<{ entry: string; build: string }> {
  const { stdout } = await run("git", ["rev-parse", "--verify", `${ref}^{commit}`], {
    cwd: repoRoot,
  });
  const sha = stdout.trim();
  const root = path.join(repoRoot, ".tmp", `bench-ref-${sha.slice(0, 12)}`);
  const entry = path.join(root, "dist", "entry.js");
  const build = `tsc build of commit ${sha} (${ref})`;
  if (existsSync(path.join(root, ".bench-stamp")) && existsSync(entry)) {
    log(`server: reusing build of ${sha.slice(0, 12)} in ${path.relative(repoRoot, root)}`);
    return { entry, build };
  }
  log(`server: compiling ${ref} (${sha.slice(0, 12)}) → ${path.relative(repoRoot, root)}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const archive = path.join(root, "tree.tar");
  await run("git", ["archive", "--format=tar", "-o", archive, sha], { cwd: repoRoot });
  await run("tar", ["-xf", archive, "-C", root]);
  rmSync(archive);
  symlinkSync(path.join(repoRoot, "node_modules"), path.join(root, "node_modules"), "dir");
  await tsc(root, tscBin(repoRoot), path.join(root, "dist"));
  writeFileSync(path.join(root, ".bench-stamp"), String(Date.now()));
  return { entry, build };
}

/** Start `fngraph serve` in a child process on port 0 with a temp data dir; read its credentials. */
export async function startServer(opts: ServerOptions): Promise<Server> {
  let entry: string;
  let build: string;
  if (opts.useDist) {
    entry = path.join(opts.repoRoot, "bin", "fngraph.js");
    build = "existing dist/ via bin/fngraph.js";
  } else if (opts.ref) {
    ({ entry, build } = await ensureRefBuild(opts.repoRoot, opts.ref, opts.log));
  } else {
    build = await ensureBuild(opts.repoRoot, opts.log);
    entry = path.join(buildDir(opts.repoRoot), "entry.js");
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "fngraph-bench-"));
  const args = [
    ...(opts.nodeArgs ?? []),
    entry,
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--gateway-port",
    "0",
    "--data-dir",
    dataDir,
    // Long enough that no warm instance is reaped between a section's warm-up and its run.
    "--keep-alive",
    "600",
  ];
  if (opts.isolation) args.push("--isolation", opts.isolation);
  let child: Child | undefined;
  const cleanup = async (): Promise<void> => {
    await child?.stop();
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
  };
  try {
    child = spawnChild(process.execPath, args, {
      cwd: opts.repoRoot,
      env: { ...process.env, ...(opts.env ?? { FNGRAPH_PREWARM: "off" }) },
    });
    // The banner's last line is printed after credentials.json is written.
    await child.waitForLine(/Credentials file/, 60_000);
    const credentials = JSON.parse(
      readFileSync(path.join(dataDir, "credentials.json"), "utf8"),
    ) as Credentials;
    const c = child;
    return {
      credentials,
      dataDir,
      pid: c.pid,
      build,
      output: () => c.output(),
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
