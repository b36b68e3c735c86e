import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { findLauncher } from "../../src/sandbox/launcher.js";
import { createSpawner, type LaunchedChild, type Spawner } from "../../src/sandbox/spawner.js";
import { createBwrapSandbox, type BwrapSandbox } from "../../src/sandbox/bwrap-sandbox.js";
import type { SandboxProcess } from "../../src/sandbox/types.js";
import { canRunTierA, makeSpec, makeTempDir } from "./helpers.js";

const launcher = findLauncher();

/** Everything a launched child gives: its three streams and how it ended. */
function outcome(child: LaunchedChild) {
  const read = (s: NodeJS.ReadableStream) =>
    new Promise<string>((resolve) => {
      let text = "";
      s.on("data", (d: Buffer) => (text += d.toString()));
      s.on("end", () => resolve(text));
      s.on("error", () => resolve(text));
    });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return Promise.all([read(child.stdout), read(child.stderr), read(child.channel), exit]).then(
    ([stdout, stderr, channel, end]) => ({ stdout, stderr, channel, ...end }),
  );
}

/** The spawner's own process (a child of this one running `--serve`). */
function spawnerPids(): number[] {
  const out = spawnSync("pgrep", ["-P", String(process.pid), "-f", "fngraph-launch --serve"], {
    encoding: "utf8",
  });
  return out.stdout.split("\n").filter(Boolean).map(Number);
}

describe.skipIf(!launcher)("the sandbox spawner (fngraph-launch --serve)", () => {
  let dir: string;
  let spawner: Spawner | undefined;
  beforeAll(() => {
    dir = makeTempDir("spawner");
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    spawner?.close();
    spawner = undefined;
  });

  const sh = (script: string) => ["--", "/bin/sh", "-c", script];

  it("starts the program with its output, fd 3 and fd 4, an empty environment, no stdin", async () => {
    spawner = createSpawner(launcher!, silentLogger);
    const seccomp = path.join(dir, "fd4");
    fs.writeFileSync(seccomp, "from fd 4");
    const child = await spawner.launch(
      sh("echo out; echo err >&2; printf 'chan:' >&3; cat <&4 >&3; env >&3; cat; exit 3"),
      seccomp,
    )!;
    expect(child.pid).toBeGreaterThan(0);
    const r = await outcome(child);
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toBe("err\n");
    expect(r.channel.startsWith("chan:from fd 4")).toBe(true);
    // Only what sh sets itself: nothing of the spawner's (NODE_CHANNEL_FD) or the platform's.
    expect(r.channel).not.toMatch(/NODE_CHANNEL|PATH=\/root/);
    expect(r.code).toBe(3);
    expect(r.signal).toBeNull();
  });

  it("answers on fd 3 both ways, and kills on request", async () => {
    spawner = createSpawner(launcher!, silentLogger);
    const child = await spawner.launch(sh('read line <&3; echo "got $line" >&3; exec sleep 30'))!;
    const r = outcome(child);
    child.channel.write("ping\n");
    await new Promise<void>((resolve) => child.channel.once("data", () => resolve()));
    expect(child.kill("SIGTERM")).toBe(true);
    const end = await r;
    expect(end.channel).toBe("got ping\n");
    expect(end.signal).toBe("SIGTERM");
    expect(child.kill("SIGKILL")).toBe(false);
  });

  it("keeps launches apart when many start at once", async () => {
    spawner = createSpawner(launcher!, silentLogger);
    // Each child's streams are read from the turn it is handed over, as with spawn().
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        spawner!.launch(sh(`echo ${i}; exit ${i}`))!.then(async (c) => ({
          pid: c.pid,
          r: await outcome(c),
        })),
      ),
    );
    expect(new Set(runs.map((x) => x.pid)).size).toBe(20);
    runs.forEach(({ r }, i) => {
      expect(r.stdout).toBe(`${i}\n`);
      expect(r.code).toBe(i);
    });
  });

  it("a launcher step that fails is the child's exit 127 with the reason on stderr", async () => {
    spawner = createSpawner(launcher!, silentLogger);
    const child = await spawner.launch([
      "--procs",
      path.join(dir, "no/cgroup.procs"),
      "--",
      "/bin/true",
    ])!;
    const r = await outcome(child);
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/^fngraph-launch: cgroup: /);
  });

  it("a spawner that does not answer fails the launch, and is replaced", async () => {
    const stuck = path.join(dir, "stuck-spawner");
    fs.writeFileSync(stuck, "#!/bin/sh\nexec sleep 60\n", { mode: 0o755 });
    spawner = createSpawner(stuck, silentLogger, { answerMs: 200, restartMs: 60_000 });
    const child = await spawner.launch(sh("true"))!;
    expect(child.pid).toBeUndefined();
    const err = await new Promise<Error>((resolve) => child.once("error", resolve));
    expect(err.message).toMatch(/no answer in 200 ms/);
    // Killed, so the caller forks the platform until a new one is started.
    await new Promise((r) => setTimeout(r, 100));
    expect(spawner.launch(sh("true"))).toBeUndefined();
  });

  it("when the spawner dies, its launches end and new ones are refused until it restarts", async () => {
    spawner = createSpawner(launcher!, silentLogger, { restartMs: 300 });
    const child = await spawner.launch(sh("exec sleep 30"))!;
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once("exit", (_code, signal) => resolve(signal)),
    );
    const pids = spawnerPids();
    expect(pids).toHaveLength(1);
    process.kill(pids[0]!, "SIGKILL");
    // Sandboxes die with the spawner (bwrap --die-with-parent); this child is only reported so.
    expect(await exited).toBe("SIGKILL");
    process.kill(child.pid!, "SIGKILL");
    // The caller forks the platform meanwhile; then a new spawner takes over.
    expect(spawner.launch(sh("true"))).toBeUndefined();
    await new Promise((r) => setTimeout(r, 400));
    const again = await spawner.launch(sh("echo again"))!;
    expect((await outcome(again)).stdout).toBe("again\n");
    expect(spawnerPids()).toHaveLength(1);
    expect(spawnerPids()[0]).not.toBe(pids[0]);
  });
});

/** The first chunk a sandbox writes to fd 3. */
function collectFirst(p: SandboxProcess): Promise<string> {
  return new Promise((resolve) => p.channel.once("data", (d: Buffer) => resolve(d.toString())));
}

describe.skipIf(!launcher || !canRunTierA)("tier A launches through the spawner", () => {
  let root: string;
  let dirs: { codeDir: string; runtimeDir: string };
  let sb: BwrapSandbox | undefined;
  beforeAll(async () => {
    root = makeTempDir("spawner-a");
    dirs = { codeDir: path.join(root, "code"), runtimeDir: path.join(root, "runtime") };
    fs.mkdirSync(dirs.codeDir);
    fs.mkdirSync(dirs.runtimeDir);
    fs.mkdirSync(path.join(root, "data"), { mode: 0o711 });
    sb = await createBwrapSandbox({
      tier: "A",
      logger: silentLogger,
      stateDir: path.join(root, "data", "sandbox"),
      cgroupPrefix: `testsp${process.pid}`,
      tmpPoolCount: 0,
      useSpawner: true,
    });
  });
  afterAll(async () => {
    await sb?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("is started by the spawner, and goes with it when it dies", async () => {
    const p = await sb!.launch(makeSpec(dirs, ["/bin/sh", "-c", "echo up >&3; exec sleep 1000"]));
    expect((await collectFirst(p)).trim()).toBe("up");
    const parent = (pid: number) =>
      Number(/PPid:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
    const cmdline = (pid: number) =>
      fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
    // The launch's pid is bwrap's (the launcher exec'd it); its parent is the spawner.
    const spawnerPid = parent(p.pid);
    expect(cmdline(spawnerPid)).toMatch(/fngraph-launch --serve/);
    process.kill(spawnerPid, "SIGKILL");
    // bwrap --die-with-parent: the whole sandbox ends, and its groups are removed.
    const exit = await p.exited;
    expect(exit.signal === "SIGKILL" || exit.code === 137 || exit.code === null).toBe(true);
    // Gone, or a zombie that init has yet to reap (the spawner was its parent).
    let state = "gone";
    try {
      state = /State:\s+(\S)/.exec(fs.readFileSync(`/proc/${p.pid}/status`, "utf8"))![1]!;
    } catch {
      // gone
    }
    expect(["gone", "Z"]).toContain(state);
    // Meanwhile launches fork the platform: they still work.
    const q = await sb!.launch(
      makeSpec(dirs, ["/bin/sh", "-c", "echo again >&3; exec sleep 1000"]),
    );
    expect((await collectFirst(q)).trim()).toBe("again");
  });
});
