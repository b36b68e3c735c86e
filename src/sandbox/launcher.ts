import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { joinCgroupsCommand } from "./cgroups.js";
import { closeFdsCommand, inheritableFds } from "./fd-hygiene.js";

/**
 * `fngraph-launch` (launcher/fngraph-launch.c), built by `npm install` into `native/` when a C
 * compiler is there (scripts/build-launcher.mjs). It joins the instance's cgroups, sets the
 * rlimits, closes inherited fds, enters the private network namespace and drops to the sandbox
 * ids in one process, then execs bwrap: the shell chain it replaces (`sh`, then `nsenter`, then
 * `setpriv`) was two or three more execs, ~8 ms of every cold start and of its CPU on a
 * paravirtualised VM where an exec costs ~3 ms.
 *
 * Without the binary (no compiler at install, or `FNGRAPH_LAUNCHER=off`), launches keep the shell
 * chain.
 */
const LAUNCHER_NAME = "fngraph-launch";

/** What the launcher does before it execs the program; every field is optional. */
export interface LaunchSteps {
  /** `cgroup.procs` files to write the launcher's pid to. */
  procs?: readonly string[];
  nofile?: number;
  /** RLIMIT_DATA in bytes (tier B). */
  dataBytes?: number;
  /** Close every fd from this one up (3 or more). */
  closeFrom?: number;
  /** A network namespace file to enter (while still root). */
  netns?: string;
  /** Drop to these ids (never 0). */
  ids?: { uid: number; gid: number };
}

/** The launcher's argv for `steps`, then `--` and the program's argv. */
export function launcherArgv(
  launcher: string,
  steps: LaunchSteps,
  program: readonly string[],
): string[] {
  const out = [launcher];
  for (const f of steps.procs ?? []) out.push("--procs", f);
  if (steps.nofile !== undefined) out.push("--nofile", String(steps.nofile));
  if (steps.dataBytes !== undefined) out.push("--data", String(steps.dataBytes));
  if (steps.closeFrom !== undefined) out.push("--close-from", String(steps.closeFrom));
  if (steps.netns !== undefined) out.push("--netns", steps.netns);
  if (steps.ids) out.push("--uid", String(steps.ids.uid), "--gid", String(steps.ids.gid));
  out.push("--", ...program);
  return out;
}

/**
 * The same steps as a chain of programs, without the launcher: a shell (bash when an fd above 9
 * must be closed) for the groups, `ulimit` and the fds, or `prlimit` when there are no groups;
 * `nsenter` for the network namespace; `setpriv` for the ids.
 */
export function shellChainArgv(
  steps: LaunchSteps,
  program: readonly string[],
  tools: { setprivPath: string; prlimitPath: string },
): string[] {
  const drop = steps.ids
    ? [
        ...(steps.netns !== undefined ? ["/usr/bin/nsenter", `--net=${steps.netns}`] : []),
        tools.setprivPath,
        `--reuid=${steps.ids.uid}`,
        `--regid=${steps.ids.gid}`,
        "--clear-groups",
        "--inh-caps=-all",
      ]
    : [];
  const leaked = steps.closeFrom !== undefined ? inheritableFds(steps.closeFrom) : [];
  const shell = leaked.length > 0 ? "/bin/bash" : "/bin/sh";
  const closeLeaked = leaked.length > 0 ? `${closeFdsCommand(leaked)} && ` : "";
  const nofile = steps.nofile !== undefined ? `ulimit -n ${steps.nofile} && ` : "";
  if (steps.procs && steps.procs.length > 0) {
    const script = `${closeLeaked}${nofile}${joinCgroupsCommand(steps.procs)} && exec "$@"`;
    return [shell, "-c", script, "sh", ...drop, ...program];
  }
  const limits = [
    tools.prlimitPath,
    ...(steps.dataBytes !== undefined ? [`--data=${steps.dataBytes}`] : []),
    ...(steps.nofile !== undefined ? [`--nofile=${steps.nofile}`] : []),
    "--",
  ];
  const closer = leaked.length > 0 ? [shell, "-c", `${closeLeaked}exec "$@"`, "sh"] : [];
  return [...closer, ...limits, ...drop, ...program];
}

/**
 * The built launcher, if there is one that runs (`--check` answers "ok"), else undefined.
 * `FNGRAPH_LAUNCHER=off` turns it off; `FNGRAPH_LAUNCHER=<path>` names another build.
 */
export function findLauncher(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const setting = env["FNGRAPH_LAUNCHER"];
  if (setting === "off") return undefined;
  const file = setting && setting !== "" ? setting : locateBuilt();
  if (!file || !existsSync(file)) return undefined;
  const r = spawnSync(file, ["--check"], { encoding: "utf8", timeout: 5000, env: {} });
  return r.status === 0 && r.stdout.trim() === "ok" ? file : undefined;
}

/** `<package root>/native/fngraph-launch`, the package root found by walking up from here. */
function locateBuilt(): string | undefined {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ;) {
    if (existsSync(path.join(dir, "package.json"))) {
      return path.join(dir, "native", LAUNCHER_NAME);
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
