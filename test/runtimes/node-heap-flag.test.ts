import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { createInstance } from "../../src/runtimes/instance.js";
import { createRuntimeRegistry } from "../../src/runtimes/registry.js";
import { createSandbox } from "../../src/sandbox/index.js";
import { createPlainProcessSandbox } from "../../src/sandbox/plain-process.js";
import type { Sandbox } from "../../src/sandbox/types.js";
import { canRunTierA, makeTempDir } from "../sandbox/helpers.js";
import { makeContext } from "./helpers.js";

/** --max-old-space-size of a 128 MB function (75 %). */
const HEAP_128 = 96;

/**
 * What the handler reports about the process it runs in: V8's code-cache tag (a hash of V8's
 * version and of every flag set), the heap limit, a forked child, and what 60 MB of Buffers
 * taken and dropped leave behind.
 */
const HANDLER = `
const cp = require("child_process");
const path = require("path");
const v8 = require("v8");
async function keptMb() {
  const before = process.memoryUsage.rss();
  let bufs = [];
  for (let i = 0; i < 60; i++) bufs.push(Buffer.alloc(1 << 20, 1));
  bufs = null;
  v8.setFlagsFromString("--expose-gc");
  const gc = require("vm").runInNewContext("gc");
  v8.setFlagsFromString("--no-expose-gc");
  gc();
  for (let i = 0; i < 100 && process.memoryUsage().arrayBuffers > 8 << 20; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return (process.memoryUsage.rss() - before) / 1048576;
}
exports.handler = async (event) => {
  if (!event.big) return { tag: v8.cachedDataVersionTag() };
  const child = await new Promise((resolve, reject) => {
    const c = cp.fork(path.join(__dirname, "child.js"), ["x"], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
    let out = "";
    c.stdout.on("data", (d) => (out += d));
    c.on("error", reject);
    c.on("exit", (code) => resolve({ code, out }));
  });
  return {
    tag: v8.cachedDataVersionTag(),
    execArgv: process.execArgv,
    main: path.basename(require.main.filename),
    limitMb: v8.getHeapStatistics().heap_size_limit / 1048576,
    keptMb: await keptMb(),
    evalOut: cp.execFileSync(process.execPath, [...process.execArgv, "-p", "require('path').sep + 1"], { encoding: "utf8" }),
    child: JSON.parse(child.out),
    childCode: child.code,
    // Allocated for the shim to collect after the call (its --expose-gc must not stay set).
    garbage: Buffer.alloc(48 << 20, 1).length,
  };
};
`;
const CHILD = `
process.stdout.write(JSON.stringify({
  main: require.main === module,
  argv: process.argv.slice(1).map((a) => require("path").basename(a)),
  limitMb: require("v8").getHeapStatistics().heap_size_limit / 1048576,
}));
`;

/** The tag of a node started without any V8 flag: the one node's own code cache was made with. */
function bareTag(): number {
  const out = execFileSync(process.execPath, ["-p", "require('v8').cachedDataVersionTag()"], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    encoding: "utf8",
  });
  return Number(out.trim());
}

describe("the Node.js runtime's heap limit and node's code cache", () => {
  let root: string;
  let codeDir: string;
  const sandboxes: Sandbox[] = [];

  beforeAll(() => {
    root = makeTempDir("heap-flag");
    codeDir = path.join(root, "code");
    fs.mkdirSync(codeDir, { mode: 0o755 });
    fs.writeFileSync(path.join(codeDir, "index.js"), HANDLER, { mode: 0o644 });
    fs.writeFileSync(path.join(codeDir, "child.js"), CHILD, { mode: 0o644 });
  });
  afterAll(async () => {
    for (const sb of sandboxes) await sb.close();
    fs.rmSync(root, { recursive: true, force: true });
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
    "tier %s: the heap keeps its limit while V8's flags match node's code cache",
    async (tier, make) => {
      const sandbox = await make();
      sandboxes.push(sandbox);
      const registry = createRuntimeRegistry({ nodePath: process.execPath });
      const inst = await createInstance({
        id: `heap-${tier}-${process.pid}`,
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
        const call = async (event: object) => {
          const out = await inst.invoke(
            JSON.stringify(event),
            makeContext({ timeoutSeconds: 20 }),
            {
              timeoutMs: 20_000,
            },
          );
          if (!out.ok) throw new Error(JSON.stringify(out));
          return JSON.parse(out.result) as Record<string, unknown> & {
            limitMb: number;
            keptMb: number;
          };
        };
        const r = await call({ big: true });
        const tag = bareTag();
        // Started with the flag, and still no flag set by the time the function runs: node's
        // built-ins load from its code cache, as in a node started without flags.
        expect(r.execArgv).toContain(`--max-old-space-size=${HEAP_128}`);
        expect(r.tag).toBe(tag);
        // The heap limit is the 75 % of 128 MB plus the young generation (256 MB+ without it).
        expect(r.limitMb).toBeGreaterThanOrEqual(HEAP_128);
        expect(r.limitMb).toBeLessThan(HEAP_128 + 64);
        expect(r.main).toBe("runtime.cjs");
        // A forked child inherits the flag (and its heap limit), runs its own script as main.
        expect(r.childCode).toBe(0);
        expect(r.child).toEqual({ main: true, argv: ["child.js", "x"], limitMb: r.limitMb });
        expect(r.evalOut).toBe("/1\n");
        // Freed Buffers go back to the kernel.
        expect(r.keptMb).toBeLessThan(20);
        // The shim collected the call's garbage with a gc it enabled for that, and set the flag
        // back: the next call still matches the code cache.
        expect((await call({})).tag).toBe(tag);
      } finally {
        await inst.close();
      }
    },
    60_000,
  );
});
