import fs from "node:fs";

const O_CLOEXEC = 0o2000000;

/**
 * File descriptors of this process that a child would inherit (no O_CLOEXEC), above `from`.
 *
 * Node opens everything with O_CLOEXEC, but fds the platform itself inherited (from a supervisor,
 * a test runner, …) are passed on by exec, and bwrap keeps every fd. The launch chain closes these
 * before the function starts, so it cannot write to a host pipe it was never meant to see.
 *
 * The whole fd table is read once, at the first call: later fds are Node's, libuv's or SQLite's,
 * all close-on-exec. Each call after that re-reads only the fds found then (closed or reused
 * since, they drop out). Reading every fd's flags at every launch cost ~16 µs per open fd: 5 ms
 * per cold start on the event loop of a platform with 50 instances.
 */
export function inheritableFds(from: number): number[] {
  candidates ??= scanFds(listFds());
  return scanFds(candidates).filter((fd) => fd >= from);
}

let candidates: number[] | undefined;

function listFds(): number[] {
  try {
    return fs
      .readdirSync("/proc/self/fd")
      .map(Number)
      .filter((fd) => Number.isInteger(fd));
  } catch {
    return [];
  }
}

/** Those of `fds` open now without O_CLOEXEC, sorted. */
function scanFds(fds: readonly number[]): number[] {
  const out: number[] = [];
  for (const fd of fds) {
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
