import fs from "node:fs";
import path from "node:path";
import type { SandboxPaths, SandboxSpec } from "./types.js";

/** Paths inside a tier A/B sandbox. */
export const SANDBOX_PATHS: Readonly<SandboxPaths> = Object.freeze({
  codeRoot: "/opt/function/code",
  runtimeRoot: "/opt/function/runtime",
  tmpDir: "/tmp",
});

/** Top-level directories that are symlinks into /usr on merged-/usr systems. */
const ROOT_LINKS = ["bin", "sbin", "lib", "lib64", "lib32", "libx32"];

export type TmpMount = { kind: "bind"; hostDir: string } | { kind: "tmpfs"; sizeMb: number };

export interface BwrapArgsInput {
  spec: SandboxSpec;
  tmp: TmpMount;
  /** The sandbox's /etc: the host's entries it needs, `passwd` and `group` (staged-etc.ts). */
  etcDir: string;
  /** fd number where bwrap reads the seccomp filter, if any. */
  seccompFd?: number;
  disableUserns: boolean;
  /** uid/gid inside the user namespace (bwrap maps the caller's own ids; set them to the same). */
  ids?: { uid: number; gid: number };
}

/** The root layout, computed once: `--symlink usr/bin /bin` on merged-/usr, a ro bind otherwise. */
export function rootLayoutArgs(): string[] {
  const args = ["--ro-bind", "/usr", "/usr"];
  for (const name of ROOT_LINKS) {
    const p = `/${name}`;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push("--symlink", fs.readlinkSync(p), p);
    else if (st.isDirectory()) args.push("--ro-bind", p, p);
  }
  return args;
}

/** bwrap arguments (without the bwrap path itself) for one instance, ending with `-- argv`. */
export function buildBwrapArgs(input: BwrapArgsInput, rootArgs: readonly string[]): string[] {
  const { spec } = input;
  const args = ["--unshare-all", "--unshare-user"];
  // "private": the launcher already entered the instance's own netns (private-net.ts).
  if (spec.network === "full" || spec.network === "private") args.push("--share-net");
  args.push("--die-with-parent", "--new-session");
  if (input.disableUserns) args.push("--disable-userns");
  args.push("--hostname", "sandbox");
  if (input.ids) args.push("--uid", String(input.ids.uid), "--gid", String(input.ids.gid));
  args.push(...rootArgs);
  args.push("--ro-bind", input.etcDir, "/etc");
  args.push("--proc", "/proc", "--dev", "/dev");
  if (input.tmp.kind === "bind") args.push("--bind", input.tmp.hostDir, "/tmp");
  else {
    const bytes = Math.round(input.tmp.sizeMb) * 1024 * 1024;
    args.push("--size", String(bytes), "--perms", "1777", "--tmpfs", "/tmp");
  }
  args.push("--ro-bind", spec.codeDir, SANDBOX_PATHS.codeRoot);
  args.push("--ro-bind", spec.runtimeDir, SANDBOX_PATHS.runtimeRoot);
  for (const m of spec.mounts) {
    args.push(m.readOnly ? "--ro-bind" : "--bind", m.hostPath, m.sandboxPath);
  }
  args.push("--chdir", SANDBOX_PATHS.codeRoot, "--clearenv");
  for (const [k, v] of Object.entries(spec.env)) args.push("--setenv", k, v);
  if (input.seccompFd !== undefined) args.push("--seccomp", String(input.seccompFd));
  args.push("--", ...spec.argv);
  return args;
}

/** Mount targets must live under /mnt (FunctionGraph mounts), never over the sandbox's own dirs. */
export function checkMountTarget(sandboxPath: string): string | undefined {
  const norm = path.posix.normalize(sandboxPath);
  if (!path.posix.isAbsolute(norm) || !norm.startsWith("/mnt/") || norm.includes("/../")) {
    return `mount target ${sandboxPath} must be a path under /mnt`;
  }
  return undefined;
}

/**
 * bwrap runs as the function's uid, so every ancestor of a bind source must be searchable by it.
 * Returns the first directory that is not, or undefined. Checks mode bits only (no ACLs).
 */
export function firstUnsearchable(p: string, uid: number, gid: number): string | undefined {
  let dir = path.resolve(p);
  const chain: string[] = [];
  for (;;) {
    chain.push(dir);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const d of chain.reverse()) {
    let st: fs.Stats;
    try {
      st = fs.statSync(d);
    } catch {
      return d;
    }
    if (!st.isDirectory()) continue;
    const bit = st.uid === uid ? 0o100 : st.gid === gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return d;
  }
  return undefined;
}
