import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger, type Logger } from "../../src/core/logger.js";
import { createInstance } from "../../src/runtimes/instance.js";
import { createNodeSnapshots, type NodeSnapshots } from "../../src/runtimes/nodejs/snapshots.js";
import { createRuntimeRegistry, locateShimRoot } from "../../src/runtimes/registry.js";
import { createSandbox } from "../../src/sandbox/index.js";
import { createPlainProcessSandbox } from "../../src/sandbox/plain-process.js";
import type { Sandbox } from "../../src/sandbox/types.js";
import { canRunTierA, makeTempDir } from "../sandbox/helpers.js";
import { makeContext } from "./helpers.js";

const SHIM_DIR = path.join(locateShimRoot(), "nodejs", "shim");
/** --max-old-space-size of a 128 MB function (75 %). */
const HEAP_128 = 96;

/** A logger that keeps its warnings. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const l = {
    ...silentLogger,
    warnings,
    warn: (_obj: object | string, msg?: string) => void warnings.push(msg ?? ""),
    child: () => l,
  };
  return l;
}

/** What the handler reports about the process it runs in, and about a child it forks. */
const HANDLER = `
const cp = require("child_process");
const path = require("path");
/** RSS a call keeps after 60 MB of Buffers are dropped and collected. */
async function keptMb() {
  const before = process.memoryUsage.rss();
  let bufs = [];
  for (let i = 0; i < 60; i++) bufs.push(Buffer.alloc(1 << 20, 1));
  bufs = null;
  require("v8").setFlagsFromString("--expose-gc");
  require("vm").runInNewContext("gc")();
  for (let i = 0; i < 100 && process.memoryUsage().arrayBuffers > 8 << 20; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return (process.memoryUsage.rss() - before) / 1048576;
}
exports.handler = async () => {
  const child = await new Promise((resolve, reject) => {
    const c = cp.fork(path.join(__dirname, "child.js"), ["x"], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
    let out = "";
    c.stdout.on("data", (d) => (out += d));
    c.on("error", reject);
    c.on("exit", (code) => resolve({ code, out }));
  });
  return {
    snapshot: process.execArgv.includes("--snapshot-blob"),
    main: path.basename(require.main.filename),
    argv1: path.basename(process.argv[1]),
    limitMb: require("v8").getHeapStatistics().heap_size_limit / 1048576,
    keptMb: await keptMb(),
    // A child given the runtime's execArgv (the blob with it) and -p code.
    evalOut: cp.execFileSync(process.execPath, [...process.execArgv, "-p", "require('path').sep + 1"], { encoding: "utf8" }),
    tunablesSeen: "GLIBC_TUNABLES" in process.env,
    child: JSON.parse(child.out),
    childCode: child.code,
  };
};
`;
const CHILD = `
process.stdout.write(JSON.stringify({
  main: require.main === module,
  argv: process.argv.slice(1).map((a) => require("path").basename(a)),
  http: typeof require("http").createServer,
}));
`;

describe("Node startup snapshots", () => {
  let root: string;
  let codeDir: string;
  const sandboxes: Sandbox[] = [];

  beforeAll(() => {
    root = makeTempDir("snapshots");
    codeDir = path.join(root, "code");
    fs.mkdirSync(codeDir, { mode: 0o755 });
    fs.writeFileSync(path.join(codeDir, "index.js"), HANDLER, { mode: 0o644 });
    fs.writeFileSync(path.join(codeDir, "child.js"), CHILD, { mode: 0o644 });
  });
  afterAll(async () => {
    for (const sb of sandboxes) await sb.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const newSnapshots = (dir: string, over: { nodePath?: string; logger?: Logger } = {}) =>
    createNodeSnapshots({
      nodePath: over.nodePath ?? process.execPath,
      shimDir: SHIM_DIR,
      dir,
      logger: over.logger ?? silentLogger,
    });

  /** Start a 128 MB Node.js instance, call it once, stop it; returns the handler's report. */
  async function report(sandbox: Sandbox, snapshots: NodeSnapshots | undefined, id: string) {
    const registry = createRuntimeRegistry({
      nodePath: process.execPath,
      ...(snapshots ? { nodeSnapshots: snapshots } : {}),
    });
    const inst = await createInstance({
      id: `${id}-${process.pid}`,
      sandbox,
      runtime: registry.get("Node.js20.15")!,
      codeDir,
      memoryMb: 128,
      cpuMillicores: 300,
      tmpMb: 64,
      network: "full",
      mounts: [],
      load: { handler: "index.handler", initializer: "", initializerTimeoutMs: 0, env: {} },
      logger: silentLogger,
    });
    try {
      const out = await inst.invoke("{}", makeContext({ timeoutSeconds: 20 }), {
        timeoutMs: 20_000,
      });
      if (!out.ok) throw new Error(JSON.stringify(out));
      return JSON.parse(out.result) as Record<string, unknown> & {
        limitMb: number;
        keptMb: number;
      };
    } finally {
      await inst.close();
    }
  }

  it("builds a blob per heap limit in the background and then names it", async () => {
    const dir = path.join(root, "cache-build");
    const s = newSnapshots(dir);
    try {
      expect(s.dir).toBe(dir);
      expect(s.args(HEAP_128)).toEqual([]); // not built yet: queued
      await s.idle();
      const args = s.args(HEAP_128);
      expect(args[0]).toBe("--snapshot-blob");
      expect(path.dirname(args[1]!)).toBe(dir);
      expect(args[1]).toMatch(/^.*\/node-[0-9a-f]{16}-heap96\.blob$/);
      expect(fs.statSync(args[1]!).mode & 0o777).toBe(0o644);
      // Nothing else is left: no temporary file, no lock.
      expect(fs.readdirSync(dir)).toEqual([path.basename(args[1]!)]);
      // Another platform process on the machine finds it without building.
      const other = newSnapshots(dir);
      expect(other.args(HEAP_128)).toEqual(args);
      await other.idle();
      other.close();
      // The cache is cleaned away: the blob is not named while it is missing, and comes back.
      fs.rmSync(dir, { recursive: true });
      expect(s.args(HEAP_128)).toEqual([]);
      await s.idle();
      expect(s.args(HEAP_128)).toEqual(args);
    } finally {
      s.close();
    }
  });

  it("a failed build is logged once, not retried, and the runtime starts without it", async () => {
    const logger = recordingLogger();
    const s = newSnapshots(path.join(root, "cache-fail"), { nodePath: "/bin/false", logger });
    try {
      expect(s.args(HEAP_128)).toEqual([]);
      await s.idle();
      expect(s.args(HEAP_128)).toEqual([]);
      await s.idle();
      expect(logger.warnings).toHaveLength(1);
      expect(logger.warnings[0]).toMatch(/snapshot build failed/);
      expect(fs.readdirSync(path.join(root, "cache-fail"))).toEqual([]);
    } finally {
      s.close();
    }
  });

  it("leaves a blob another process is building to it, and takes over a stale lock", async () => {
    const dir = path.join(root, "cache-lock");
    const first = newSnapshots(dir);
    first.prepare([HEAP_128]);
    await first.idle();
    const blob = first.args(HEAP_128)[1]!;
    first.close();
    fs.rmSync(blob);
    fs.writeFileSync(`${blob}.lock`, "");

    const s = newSnapshots(dir);
    try {
      s.prepare([HEAP_128]);
      await s.idle();
      expect(fs.existsSync(blob)).toBe(false);
      expect(s.args(HEAP_128)).toEqual([]);
      await s.idle();
      // The lock's builder died ten minutes ago.
      const old = new Date(Date.now() - 600_000);
      fs.utimesSync(`${blob}.lock`, old, old);
      expect(s.args(HEAP_128)).toEqual([]);
      await s.idle();
      expect(s.args(HEAP_128)).toEqual(["--snapshot-blob", blob]);
      expect(fs.existsSync(`${blob}.lock`)).toBe(false);
    } finally {
      s.close();
    }
  });

  const tiers: [string, () => Promise<Sandbox>][] = [
    ["C", async () => createPlainProcessSandbox({ logger: silentLogger })],
  ];
  if (canRunTierA) {
    tiers.push([
      "A",
      () => {
        // Under the test's root, removed with it.
        const dataDir = path.join(root, "tier-a-data");
        fs.mkdirSync(dataDir, { mode: 0o755 });
        return createSandbox({
          isolation: "A",
          dataDir,
          logger: silentLogger,
          createPlain: () => createPlainProcessSandbox({ logger: silentLogger }),
        });
      },
    ]);
  }

  it.each(tiers)(
    "tier %s: a runtime started from the blob behaves as one started without it",
    async (tier, make) => {
      const sandbox = await make();
      sandboxes.push(sandbox);
      const s = newSnapshots(path.join(root, `cache-run-${tier}`));
      try {
        s.prepare([HEAP_128]);
        await s.idle();
        const plain = await report(sandbox, undefined, `plain${tier}`);
        const snap = await report(sandbox, s, `snap${tier}`);
        expect(plain.snapshot).toBe(false);
        expect(snap.snapshot).toBe(true);
        for (const r of [plain, snap]) {
          expect(r.main).toBe("runtime.cjs");
          expect(r.argv1).toBe("runtime.cjs");
          // The heap limit is the 75 % of 128 MB plus the young generation, either way.
          expect(r.limitMb).toBeGreaterThanOrEqual(HEAP_128);
          expect(r.limitMb).toBeLessThan(HEAP_128 + 64);
          // A forked child (which inherits execArgv, so the blob) runs its own script as main.
          expect(r.childCode).toBe(0);
          expect(r.child).toEqual({ main: true, argv: ["child.js", "x"], http: "function" });
          // Freed Buffers go back to the kernel (NODE_MALLOC_ENV: without it, a runtime started
          // from the blob kept all 60 MB), and the malloc setting is not the function's.
          expect(r.keptMb).toBeLessThan(20);
          expect(r.tunablesSeen).toBe(false);
          expect(r.evalOut).toBe("/1\n");
        }
        expect(snap.limitMb).toBe(plain.limitMb);
      } finally {
        s.close();
      }
    },
    60_000,
  );
});
