import fs from "node:fs";
import type { Logger } from "../core/logger.js";
import type { InstanceCgroup } from "./cgroups.js";
import { cpuMillicoresFor } from "./cgroups.js";
import { delay } from "./exec.js";
import { createRssMonitor } from "./rss-monitor.js";
import type { RssMonitor } from "./rss-monitor.js";
import type { LaunchedChild } from "./spawner.js";
import type { TmpVolume } from "./tmp-volume.js";
import type { SandboxExit, SandboxProcess, SandboxSpec } from "./types.js";

/**
 * The `SandboxProcess` of one tier A/B launch (bwrap-sandbox.ts): limits and peak memory from the
 * instance's cgroups (tier A) or RSS polling (tier B), the tree kill, and the teardown that runs
 * once the tree is gone (groups removed, /tmp volume given back).
 */

const MB = 1024 * 1024;

export interface WrapInput {
  spec: SandboxSpec;
  child: LaunchedChild;
  cg: InstanceCgroup | undefined;
  volume: TmpVolume | undefined;
  log: Logger;
  track: (p: Promise<void>) => void;
  live: Set<SandboxProcess>;
  rssPollMs: number;
}

export function wrapProcess(input: WrapInput): SandboxProcess {
  const { spec, child, cg, volume, log, track, live, rssPollMs } = input;
  let gone = false;
  let finalOom = 0;
  let finalPeak: number | undefined;
  let monitor: RssMonitor | undefined;
  let killing: Promise<void> | undefined;
  let frozen = false;
  const lastTree = new Set<number>();

  if (!cg && child.pid !== undefined) {
    const pid = child.pid;
    monitor = createRssMonitor({
      rootPid: pid,
      limitBytes: spec.memoryMb * MB,
      intervalMs: rssPollMs,
      onExceeded: () => {
        log.warn({ memoryMb: spec.memoryMb }, "memory limit exceeded (RSS polling); killing");
        void proc.kill();
      },
    });
  }

  const exited = new Promise<SandboxExit>((resolve) => {
    let settled = false;
    const finish = async (code: number | null, signal: NodeJS.Signals | null): Promise<void> => {
      if (settled) return;
      settled = true;
      try {
        if (cg) {
          if (!(await cg.waitEmpty(1000))) {
            await cg.killAll();
            await cg.waitEmpty(2000);
          }
          finalOom = cg.oomKills();
          finalPeak = cg.memoryPeakBytes();
          await cg.remove();
        } else {
          finalPeak = monitor?.peakBytes();
          monitor?.stop();
          await waitPidsGone(lastTree, 2000);
        }
      } catch (err) {
        log.warn({ err }, "sandbox teardown failed");
      }
      gone = true;
      live.delete(proc);
      if (volume) track(volume.release());
      resolve({ code, signal });
    };
    child.once("exit", (code, signal) => void finish(code, signal));
    child.once("error", (err) => {
      log.error({ err }, "sandbox spawn failed");
      // 'exit' may never come for a failed spawn.
      if (child.pid === undefined) void finish(null, null);
    });
  });

  const rememberTree = (): void => {
    if (child.pid === undefined) return;
    for (const pid of descendants(child.pid)) lastTree.add(pid);
  };

  const proc: SandboxProcess = {
    id: spec.id,
    pid: child.pid ?? -1,
    channel: child.channel,
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    // Tier B's RSS polling samples too.
    peakExact: cg ? cg.peakExact : false,
    peakMemoryBytes: () => {
      if (gone) return finalPeak;
      return cg ? cg.memoryPeakBytes() : monitor?.peakBytes();
    },
    idle: () => {
      if (!gone) cg?.memoryIdle();
    },
    resetPeakMemory: () => {
      if (gone) return;
      if (cg) cg.resetMemoryPeak();
      else monitor?.resetPeak();
    },
    oomKilled: () => {
      if (cg) return (gone ? finalOom : cg.oomKills()) > 0;
      return monitor?.exceeded() ?? false;
    },
    applyRuntimeLimits: () => {
      if (gone || !cg) return;
      const m = spec.cpuMillicores > 0 ? spec.cpuMillicores : cpuMillicoresFor(spec.memoryMb);
      cg.setCpuMillicores(m);
    },
    freeze: () => {
      if (!gone && !killing && cg) frozen = cg.freeze();
    },
    thaw: () => {
      if (!frozen) return;
      frozen = false;
      if (!gone) cg?.thaw();
    },
    kill: () =>
      (killing ??= (async () => {
        if (!gone) {
          // killAll handles frozen tasks (cgroup.kill and SIGKILL wake them; the v1 path thaws);
          // thawing as well leaves no group frozen for the teardown.
          if (cg) {
            await cg.killAll();
            proc.thaw();
          } else {
            rememberTree();
            for (const pid of lastTree) trySigkill(pid);
          }
          child.kill("SIGKILL");
        }
        await exited;
      })()),
  };
  live.add(proc);
  return proc;
}

function trySigkill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Gone already.
  }
}

/** Every descendant of `root` (not root itself), from one /proc scan. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of fs.readdirSync("/proc")) {
    const pid = Number(e);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(pid);
      children.set(ppid, list);
    } catch {
      // Exited during the scan.
    }
  }
  const out: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop() ?? 0;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

async function waitPidsGone(pids: Set<number>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = [...pids].filter((pid) => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
      } catch {
        return false;
      }
    });
    if (alive.length === 0 || Date.now() > deadline) return;
    await delay(5);
  }
}
