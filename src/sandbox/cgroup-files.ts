import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** File helpers of the cgroup driver (cgroups.ts): open control files, v2 peak, best-effort I/O. */

/**
 * Control files read or written on every invocation, kept open: a pread/pwrite on an open fd costs
 * ~5 µs where open + read + close costs ~20-25 µs (measured here, v1), and the warm path does
 * three of them per call. Falls back to a plain read/write when the fd cannot be used.
 */
export function createOpenFiles(): {
  read(file: string): string | undefined;
  write(file: string, value: string): void;
  close(): void;
} {
  const fds = new Map<string, number>();
  const buf = Buffer.alloc(1024);
  const fdOf = (file: string, flags: "r" | "w"): number | undefined => {
    const key = `${flags}:${file}`;
    let fd = fds.get(key);
    if (fd === undefined) {
      try {
        fd = fs.openSync(file, flags);
      } catch {
        return undefined;
      }
      fds.set(key, fd);
    }
    return fd;
  };
  return {
    read(file) {
      const fd = fdOf(file, "r");
      if (fd !== undefined) {
        try {
          return buf.toString("utf8", 0, fs.readSync(fd, buf, 0, buf.length, 0));
        } catch {
          // fall through to a plain read
        }
      }
      const text = readOr(file, "");
      return text === "" ? undefined : text;
    },
    write(file, value) {
      const fd = fdOf(file, "w");
      if (fd !== undefined) {
        try {
          fs.writeSync(fd, value, 0);
          return;
        } catch {
          // fall through
        }
      }
      tryWrite(file, value);
    },
    close() {
      for (const fd of fds.values()) {
        try {
          fs.closeSync(fd);
        } catch {
          // already closed
        }
      }
      fds.clear();
    },
  };
}

/**
 * v2 peak: `memory.peak` is reset per open file (kernel ≥ 6.12) by writing to it; reads through
 * the same fd then report the peak since the reset. Older kernels cannot reset, so we fall back to
 * the maximum of `memory.current` sampled every 20 ms since the last reset.
 */
export function createV2Peak(dir: string): {
  /** False when read() is a sample of `memory.current` (kernels before 6.12). */
  readonly exact: boolean;
  read(): number | undefined;
  reset(): void;
  /** No call is running: stop sampling until the next reset (exact peaks: nothing to do). */
  idle?(): void;
  close(): void;
} {
  const file = path.join(dir, "memory.peak");
  let fd: number | undefined;
  let resettable = false;
  try {
    fd = fs.openSync(file, "r+");
    fs.writeSync(fd, "reset", 0);
    resettable = true;
  } catch {
    // 5.19-6.11: memory.peak is read-only, but its lifetime peak is exact until our first reset.
    try {
      fd ??= fs.openSync(file, "r");
    } catch {
      // < 5.19: no memory.peak at all; memory.current samples only.
    }
  }
  const readFd = (): number | undefined => {
    if (fd === undefined) return undefined;
    const buf = Buffer.alloc(64);
    const n = fs.readSync(fd, buf, 0, 64, 0);
    const v = Number(buf.subarray(0, n).toString("utf8").trim());
    return Number.isFinite(v) ? v : undefined;
  };
  if (resettable) {
    return {
      exact: true,
      read: () => readFd(),
      reset: () => {
        if (fd !== undefined) fs.writeSync(fd, "reset", 0);
      },
      close: () => {
        if (fd !== undefined) fs.closeSync(fd);
        fd = undefined;
      },
    };
  }
  // Samples are taken only while the instance is busy (from a reset to idle()), and before the
  // first reset only when there is no lifetime memory.peak to read instead.
  let sampled = 0;
  let timer: NodeJS.Timeout | undefined;
  const sample = (): void => {
    const cur = Number(readOr(path.join(dir, "memory.current"), "0"));
    if (Number.isFinite(cur) && cur > sampled) sampled = cur;
  };
  const loop = (): void => {
    sample();
    timer = setTimeout(loop, 20);
    timer.unref();
  };
  const stop = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  if (fd === undefined) loop();
  let everReset = false;
  return {
    exact: false,
    read: () => {
      sample();
      // Before the first reset the kernel's own lifetime peak is exact.
      return everReset ? sampled : (readFd() ?? sampled);
    },
    reset: () => {
      everReset = true;
      sampled = 0;
      stop();
      loop();
    },
    idle: () => {
      sample();
      stop();
    },
    close: () => {
      stop();
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    },
  };
}

export function signalKill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

export function tryWrite(file: string, value: string): boolean {
  try {
    fs.writeFileSync(file, value);
    return true;
  } catch {
    return false;
  }
}

export function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return fallback;
  }
}

export function readdirOr(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

export function kernelAtLeast(major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(os.release());
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > major || (maj === major && min >= minor);
}

/** The mount table writes space, tab, newline and backslash in a path as octal escapes. */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
