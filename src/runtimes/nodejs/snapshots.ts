import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Logger } from "../../core/logger.js";
import { locateShimRoot } from "../registry.js";

/**
 * Node startup snapshots, one per V8 heap limit (docs/runtimes.md, "Node startup snapshots").
 *
 * The runtimes start node with `--max-old-space-size`. Any V8 flag on the command line changes
 * V8's flag hash, and node then rejects the code cache of its built-in modules that ships in its
 * binary: every built-in the shim or the function loads (net, stream, util, http, crypto …) is
 * compiled from source, ~10 ms of a Node.js runtime's start. A user-land snapshot built by
 * `node --max-old-space-size=N --build-snapshot` carries a code cache of all built-ins made under
 * that flag, which node accepts when started with the same flag and `--snapshot-blob`.
 *
 * Blobs are built in the background, one at a time, at low priority, and shared by every
 * platform process on the machine (their names carry a fingerprint of the node binary). A runtime
 * whose blob is not built yet starts as before, without it.
 */
export interface NodeSnapshots {
  /** Directory of the blobs; sandboxes bind it read-only at the same path. */
  readonly dir: string;
  /**
   * The arguments that start node from the blob for this heap limit (placed after
   * `--max-old-space-size=<heapMb>`), or none while it is not built; then a build is queued.
   */
  args(heapMb: number): string[];
  /** Queue builds for these heap limits (the prewarmed pool's sizes, at start-up). */
  prepare(heapMbs: readonly number[]): void;
  /** Resolves once no build is queued or running. */
  idle(): Promise<void>;
  /** For /healthz: the heap limits whose blob is there, being built, queued, or failed. */
  stats(): NodeSnapshotStats;
  /** Stop building (a running build is killed; its temporary file removed). */
  close(): void;
}

export interface NodeSnapshotStats {
  dir: string;
  ready: number[];
  building: number | null;
  queued: number[];
  failed: number[];
}

export interface NodeSnapshotsOptions {
  /** The node binary the runtimes run (config `nodePath`). */
  nodePath: string;
  /** Directory holding `snapshot-main.cjs` and `snapshot-check.cjs`; default the Node shim's. */
  shimDir?: string;
  /** Where blobs are kept; default {@link defaultSnapshotDir}. Created if missing. */
  dir?: string;
  logger: Logger;
}

/** A build taking longer than this is killed (a cold machine takes well under 5 s). */
const BUILD_TIMEOUT_MS = 60_000;
/** Another process's lock older than this is taken to be left by a crash. */
const STALE_LOCK_MS = 2 * BUILD_TIMEOUT_MS;

/** Machine-wide cache: /var/cache/fngraph/node-snapshots as root, else in the user's ~/.cache. */
export function defaultSnapshotDir(): string {
  return process.getuid?.() === 0
    ? "/var/cache/fngraph/node-snapshots"
    : path.join(os.homedir(), ".cache", "fngraph", "node-snapshots");
}

/**
 * The snapshots a setting asks for (config `nodeSnapshots`): none for "off", else in that
 * directory, or in {@link defaultSnapshotDir} when it is empty.
 */
export function nodeSnapshotsFor(
  setting: string | undefined,
  opts: Omit<NodeSnapshotsOptions, "dir">,
): NodeSnapshots | undefined {
  if (setting === "off") return undefined;
  return createNodeSnapshots({ ...opts, ...(setting ? { dir: setting } : {}) });
}

export function createNodeSnapshots(opts: NodeSnapshotsOptions): NodeSnapshots {
  const dir = path.resolve(opts.dir ?? defaultSnapshotDir());
  const log = opts.logger;
  const shimDir = path.resolve(opts.shimDir ?? path.join(locateShimRoot(), "nodejs", "shim"));
  const mainFile = path.join(shimDir, "snapshot-main.cjs");
  const checkFile = path.join(shimDir, "snapshot-check.cjs");
  // Root's cache is read by the sandboxes' uid; anyone else's stays private.
  const shared = process.getuid?.() === 0;
  const makeDir = (): void => {
    fs.mkdirSync(dir, { recursive: true, mode: shared ? 0o755 : 0o700 });
  };
  makeDir();
  if (shared) fs.chmodSync(dir, 0o755);
  const prefix = `node-${fingerprint(opts.nodePath, mainFile)}-heap`;
  const blobFile = (heapMb: number): string => path.join(dir, `${prefix}${heapMb}.blob`);

  /** Heap limits whose build failed in this process: not tried again, started without. */
  const failed = new Set<number>();
  const queue: number[] = [];
  let running: { heapMb: number; abort: AbortController } | undefined;
  let closed = false;
  let idleWaiters: (() => void)[] = [];

  const settleIdle = (): void => {
    if (running || queue.length > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  const enqueue = (heapMb: number): void => {
    if (closed || failed.has(heapMb)) return;
    if (running?.heapMb === heapMb || queue.includes(heapMb)) return;
    queue.push(heapMb);
    if (!running) void next();
  };

  async function next(): Promise<void> {
    const heapMb = queue.shift();
    if (heapMb === undefined || closed) return settleIdle();
    const abort = new AbortController();
    running = { heapMb, abort };
    try {
      await build(heapMb, abort.signal);
    } catch (err) {
      failed.add(heapMb);
      if (!closed) {
        log.warn(
          { err, heapMb },
          "node startup snapshot build failed; Node.js runtimes of this size start without it",
        );
      }
    } finally {
      running = undefined;
    }
    if (queue.length > 0 && !closed) void next();
    else settleIdle();
  }

  /** Puts the blob in place unless it is there or another process is building it. */
  async function build(heapMb: number, signal: AbortSignal): Promise<void> {
    const final = blobFile(heapMb);
    if (fs.existsSync(final)) return;
    makeDir(); // the cache may have been cleaned meanwhile
    const lock = `${final}.lock`;
    if (!takeLock(lock)) return;
    const tmp = `${final}.${process.pid}.tmp`;
    try {
      const heapFlag = `--max-old-space-size=${heapMb}`;
      const t0 = performance.now();
      await run(opts.nodePath, [heapFlag, "--snapshot-blob", tmp, "--build-snapshot", mainFile], {
        signal,
        cwd: shimDir,
      });
      // The runtimes' own flags, so a blob that node would refuse under them never gets used.
      const out = await run(
        opts.nodePath,
        [heapFlag, "--snapshot-blob", tmp, "--no-warnings", checkFile],
        { signal, cwd: shimDir },
      );
      const check = parseCheck(out);
      if (!check.main || check.limitMb < heapMb || check.limitMb > heapMb + 64) {
        throw new Error(`snapshot check for heap ${heapMb} MB printed ${JSON.stringify(out)}`);
      }
      fs.chmodSync(tmp, 0o644);
      fs.renameSync(tmp, final);
      log.info(
        { heapMb, ms: Math.round(performance.now() - t0), file: final },
        "node startup snapshot built",
      );
    } finally {
      fs.rmSync(tmp, { force: true });
      fs.rmSync(lock, { force: true });
    }
  }

  return {
    dir,
    args(heapMb) {
      // Looked for on every start (a stat): a blob removed with the cache is rebuilt, not named.
      const file = blobFile(heapMb);
      if (fs.existsSync(file)) return ["--snapshot-blob", file];
      enqueue(heapMb);
      return [];
    },
    prepare(heapMbs) {
      for (const h of heapMbs) if (!fs.existsSync(blobFile(h))) enqueue(h);
    },
    stats() {
      let files: string[] = [];
      try {
        files = fs.readdirSync(dir);
      } catch {
        // the cache was removed: nothing is ready
      }
      const ready = files
        .filter((f) => f.startsWith(prefix) && f.endsWith(".blob"))
        .map((f) => Number(f.slice(prefix.length, -".blob".length)))
        .filter((n) => Number.isInteger(n))
        .sort((a, b) => a - b);
      return {
        dir,
        ready,
        building: running?.heapMb ?? null,
        queued: [...queue],
        failed: [...failed].sort((a, b) => a - b),
      };
    },
    idle() {
      if (!running && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    close() {
      closed = true;
      queue.length = 0;
      running?.abort.abort();
      settleIdle();
    },
  };
}

/** Node binary (path, size, times, inode) and snapshot entry: a change makes new blob names. */
function fingerprint(nodePath: string, mainFile: string): string {
  const real = fs.realpathSync(nodePath);
  const st = fs.statSync(real);
  return createHash("sha256")
    .update(`${real}\0${st.size}\0${st.mtimeMs}\0${st.ino}\0`)
    .update(fs.readFileSync(mainFile))
    .digest("hex")
    .slice(0, 16);
}

/** O_EXCL lock file; a stale one (its builder crashed) is replaced. */
function takeLock(lock: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.closeSync(fs.openSync(lock, "wx", 0o600));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let age: number;
      try {
        age = Date.now() - fs.statSync(lock).mtimeMs;
      } catch {
        continue; // released meanwhile: try again
      }
      if (age < STALE_LOCK_MS) return false;
      fs.rmSync(lock, { force: true });
    }
  }
  return false;
}

function parseCheck(out: string): { main: boolean; limitMb: number } {
  try {
    const v = JSON.parse(out) as { main?: unknown; limitMb?: unknown };
    return { main: v.main === true, limitMb: typeof v.limitMb === "number" ? v.limitMb : -1 };
  } catch {
    return { main: false, limitMb: -1 };
  }
}

/**
 * Run node with the environment a runtime gets (nothing of the platform's: NODE_OPTIONS would
 * change the flags the blob is made under), at low priority; resolves with its stdout.
 */
function run(
  file: string,
  args: string[],
  o: { signal: AbortSignal; cwd: string },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        cwd: o.cwd,
        env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: os.tmpdir(), LANG: "C.UTF-8" },
        signal: o.signal,
        timeout: BUILD_TIMEOUT_MS,
        maxBuffer: 1024 * 1024,
        encoding: "utf8",
      },
      // The error's message holds the command line and its stderr.
      (err, stdout) => (err ? reject(new Error(err.message, { cause: err })) : resolve(stdout)),
    );
    try {
      if (child.pid) os.setPriority(child.pid, 10);
    } catch {
      // not permitted: it runs at normal priority
    }
  });
}
