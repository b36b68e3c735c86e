import fs from "node:fs";

/**
 * Tier B memory accounting without cgroups: every `intervalMs`, sum the anonymous RSS of every
 * process below `rootPid` (the outer bwrap). Processes in bwrap's pid namespace, setsid'd ones
 * included, stay descendants of the outer bwrap, so a walk of /proc finds them all.
 *
 * Best effort: an allocation faster than the interval overshoots until the next sample, and shared
 * file pages (the node binary) are not counted. Exceeding the limit calls `onExceeded` once.
 */
export interface RssMonitor {
  peakBytes(): number;
  resetPeak(): void;
  exceeded(): boolean;
  stop(): void;
}

export function createRssMonitor(opts: {
  rootPid: number;
  limitBytes: number;
  intervalMs: number;
  onExceeded: () => void;
}): RssMonitor {
  let peak = 0;
  let over = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const sample = (): number => {
    const total = sumTreeAnonRss(opts.rootPid);
    if (total > peak) peak = total;
    if (!over && total > opts.limitBytes) {
      over = true;
      opts.onExceeded();
    }
    return total;
  };
  const loop = (): void => {
    if (stopped) return;
    sample();
    timer = setTimeout(loop, opts.intervalMs);
    timer.unref();
  };
  loop();
  return {
    peakBytes: () => {
      if (!stopped) sample();
      return peak;
    },
    resetPeak: () => {
      peak = 0;
      if (!stopped) sample();
    },
    exceeded: () => over,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/** Sum of RssAnon + RssShmem over `rootPid` and all its descendants, in bytes. */
export function sumTreeAnonRss(rootPid: number): number {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return 0;
  }
  for (const e of entries) {
    const pid = Number(e);
    if (!Number.isInteger(pid)) continue;
    const ppid = readPpid(pid);
    if (ppid === undefined) continue;
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  let total = 0;
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop() ?? 0;
    total += anonRssBytes(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return total;
}

function readPpid(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(rest[1]);
  } catch {
    return undefined;
  }
}

function anonRssBytes(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const anon = /^RssAnon:\s+(\d+) kB/m.exec(status)?.[1];
    const shmem = /^RssShmem:\s+(\d+) kB/m.exec(status)?.[1];
    return (Number(anon ?? 0) + Number(shmem ?? 0)) * 1024;
  } catch {
    return 0;
  }
}
