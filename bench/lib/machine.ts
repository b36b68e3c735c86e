import { execFileSync } from "node:child_process";
import os from "node:os";

/** What the numbers were measured on; captured at the start of the run. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  totalMemMb: number;
  platform: string;
  kernel: string;
  node: string;
  loadAvgAtStart: number[];
  git: { commit: string; dirtyFiles: number };
}

function git(repoRoot: string, args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: repoRoot, encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

export function machineInfo(repoRoot: string): MachineInfo {
  const cpus = os.cpus();
  const status = git(repoRoot, ["status", "--porcelain"]);
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    totalMemMb: Math.round(os.totalmem() / 2 ** 20),
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    node: process.version,
    loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    git: {
      commit: git(repoRoot, ["rev-parse", "HEAD"]) || "unknown",
      dirtyFiles: status ? status.split("\n").length : 0,
    },
  };
}
