import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { probeCgroupLayout } from "../../src/sandbox/cgroups.js";
import type { SandboxProcess, SandboxSpec } from "../../src/sandbox/types.js";

/** Tier A can run here: root, bwrap installed, cgroup controllers mounted. */
export const canRunTierA =
  process.getuid?.() === 0 &&
  fs.existsSync("/usr/bin/bwrap") &&
  fs.existsSync("/usr/bin/setpriv") &&
  probeCgroupLayout().version !== "none";

/** Tier B as we test it: bwrap usable (as root we still drop to the function uid). */
export const canRunTierB = fs.existsSync("/usr/bin/bwrap") && fs.existsSync("/usr/bin/prlimit");

/** A temp dir searchable by the function uid (mkdtemp makes 0700 dirs). */
export function makeTempDir(tag: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fngraph-${tag}-`));
  fs.chmodSync(dir, 0o755);
  return dir;
}

const pureV2 = probeCgroupLayout().version === "v2";

/** Group `name`'s directory for a controller: its v1 mount (or `unified`), or the one v2 tree. */
export function cgroupDir(controller: string, name: string): string {
  return path.join("/sys/fs/cgroup", pureV2 ? "" : controller, name);
}

/** Group `name`'s CFS quota in µs (-1: none): v1 `cpu.cfs_quota_us`, v2 `cpu.max`. */
export function cpuQuotaUs(name: string): number {
  const dir = cgroupDir("cpu", name);
  if (!pureV2) return Number(fs.readFileSync(path.join(dir, "cpu.cfs_quota_us"), "utf8"));
  const quota = fs.readFileSync(path.join(dir, "cpu.max"), "utf8").split(" ")[0];
  return quota === "max" ? -1 : Number(quota);
}

/** Names of cgroups starting with `fngraph-<prefix>-` in any hierarchy. */
export function leftoverCgroups(prefix: string): string[] {
  const roots = ["memory", "cpu", "pids", "freezer", "unified", ""].map((c) =>
    path.join("/sys/fs/cgroup", c),
  );
  const found = new Set<string>();
  for (const r of roots) {
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(r);
    } catch {
      continue;
    }
    for (const e of entries) if (e.startsWith(`fngraph-${prefix}-`)) found.add(`${r}/${e}`);
  }
  return [...found];
}

let seq = 0;
/** A spec for a small program; node scripts report back on fd 3 with `report(obj)`. */
export function makeSpec(
  dirs: { codeDir: string; runtimeDir: string },
  argv: string[],
  over: Partial<SandboxSpec> = {},
): SandboxSpec {
  return {
    id: `t${process.pid}-${++seq}`,
    codeDir: dirs.codeDir,
    runtimeDir: dirs.runtimeDir,
    argv,
    env: { PATH: "/usr/bin:/bin", FN_TEST: "yes" },
    memoryMb: 128,
    cpuMillicores: 300,
    tmpMb: 64,
    network: "loopback",
    mounts: [],
    ...over,
  };
}

/** `/usr/bin/node -e` with a `report(obj)` helper writing NDJSON to fd 3. */
export function nodeArgv(body: string, flags: string[] = []): string[] {
  const prelude =
    "const __net = require('net'); const __ch = new __net.Socket({ fd: 3, readable: true, writable: true });" +
    "const report = (o) => new Promise((r) => __ch.write(JSON.stringify(o) + '\\n', r));";
  return [
    "/usr/bin/node",
    ...flags,
    "-e",
    `${prelude}\n(async () => {\n${body}\n})().catch((e) => report({ error: String(e && e.stack || e) }))`,
  ];
}

/** Resolve with the first NDJSON message from fd 3 (or reject when the tree exits first). */
export function firstMessage<T = Record<string, unknown>>(proc: SandboxProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = "";
    let stderr = "";
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    proc.channel.on("data", (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf("\n");
      if (i >= 0) resolve(JSON.parse(buf.slice(0, i)) as T);
    });
    void proc.exited.then((e) =>
      setTimeout(
        () => reject(new Error(`exited ${JSON.stringify(e)} before a message: ${stderr}`)),
        50,
      ),
    );
  });
}

/** Collect a stream to a string until it ends. */
export function collect(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let s = "";
    stream.on("data", (d: Buffer) => (s += d.toString()));
    stream.on("end", () => resolve(s));
    stream.on("close", () => resolve(s));
  });
}
