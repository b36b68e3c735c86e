import fs from "node:fs";

const O_CLOEXEC = 0o2000000;

/**
 * File descriptors of this process that a child would inherit (no O_CLOEXEC), above `from`.
 *
 * Node opens everything with O_CLOEXEC, but fds the platform itself inherited (from a supervisor,
 * a test runner, …) are passed on by exec, and bwrap keeps every fd. The launch chain closes these
 * before the function starts, so it cannot write to a host pipe it was never meant to see.
 */
export function inheritableFds(from: number): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc/self/fd");
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of entries) {
    const fd = Number(e);
    if (!Number.isInteger(fd) || fd < from) continue;
    try {
      const info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
      const flags = /^flags:\s+([0-7]+)/m.exec(info)?.[1];
      if (flags !== undefined && (parseInt(flags, 8) & O_CLOEXEC) === 0) out.push(fd);
    } catch {
      // Closed meanwhile (readdir's own fd, for instance).
    }
  }
  return out.sort((a, b) => a - b);
}

/** bash redirections closing `fds` (dash cannot name fds above 9, so the chain uses bash then). */
export function closeFdsCommand(fds: readonly number[]): string {
  return fds.length === 0 ? "" : `exec ${fds.map((fd) => `${fd}>&-`).join(" ")}`;
}
