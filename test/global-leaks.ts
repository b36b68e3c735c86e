// Vitest global setup: fail the run when it leaves behind a sandbox process (uid 1003, or any
// uid in a fngraph cgroup: mount_user instances run as other uids), a fngraph cgroup or a loop
// mount that was not there before it started (CONVENTIONS, Tests).
// Two test runs at once on one machine would see each other's instances: run one at a time.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Read by scripts/run-tests.mjs: Vitest does not fail the run when global teardown throws. */
export const LEAKS_FILE = path.join(import.meta.dirname, "..", ".tmp", "test-leaks.txt");

const CGROUP_ROOTS = [
  "/sys/fs/cgroup/memory",
  "/sys/fs/cgroup/pids",
  "/sys/fs/cgroup/unified",
  "/sys/fs/cgroup",
];

function cgroups(): Set<string> {
  const out = new Set<string>();
  for (const root of CGROUP_ROOTS) {
    try {
      for (const e of readdirSync(root)) if (e.startsWith("fngraph")) out.add(`${root}/${e}`);
    } catch {
      // controller not mounted here
    }
  }
  return out;
}

function mounts(): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
    const target = line.split(" ")[1];
    if (target?.includes("fngraph")) out.add(target);
  }
  return out;
}

function sandboxProcesses(): Set<string> {
  const out = new Set<string>();
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const inGroup = /:\/fngraph-/.test(readFileSync(`/proc/${pid}/cgroup`, "utf8"));
      if (statSync(`/proc/${pid}`).uid !== 1003 && !inGroup) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue; // reaped soon by init
      out.add(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim()}`);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

const snapshot = () => ({ cgroups: cgroups(), mounts: mounts(), processes: sandboxProcesses() });

export default function setup(): () => Promise<void> {
  const before = snapshot();
  return async () => {
    // Instance teardown finishes asynchronously (loop devices, cgroup removal); give it a moment.
    let leaks: string[] = [];
    for (let i = 0; i < 30; i++) {
      const now = snapshot();
      leaks = [
        ...[...now.cgroups].filter((x) => !before.cgroups.has(x)).map((x) => `cgroup ${x}`),
        ...[...now.mounts].filter((x) => !before.mounts.has(x)).map((x) => `mount ${x}`),
        ...[...now.processes].filter((x) => !before.processes.has(x)).map((x) => `process ${x}`),
      ];
      if (leaks.length === 0) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    const message = `the test run left these behind:\n  ${leaks.join("\n  ")}`;
    mkdirSync(path.dirname(LEAKS_FILE), { recursive: true });
    writeFileSync(LEAKS_FILE, message + "\n");
    throw new Error(message);
  };
}
