import fs from "node:fs";
import path from "node:path";
import type { Logger } from "../core/logger.js";
import { unescapeMountField } from "./cgroup-files.js";
import { run } from "./exec.js";

/**
 * Private /tmp volumes backed by a sparse ext4 image on the host's disk, loop-mounted by the host.
 *
 * Why not tmpfs: tmpfs pages are charged to the memory cgroup of the process that writes them, so
 * a function filling a tmpfs /tmp is OOM-killed instead of getting ENOSPC (measured, see
 * docs/sandbox.md). Page cache of a disk file system is charged too but is reclaimable, so it never
 * causes an OOM kill. The loop device uses direct I/O so the image is not cached twice.
 *
 * Layout under `<stateDir>/tmp`: `<id>.img` (the image) and `<id>/` (its mount point, owned by
 * root, mode 0711). An instance never gets the file system's root: each take makes a fresh
 * directory `<id>/d<n>` (owned by the function's ids, 0700) and that is bound at /tmp. So nothing
 * an instance can change outlives its directory (not even extended attributes of /tmp itself),
 * and a volume can be recycled: when the instance is gone its directory is deleted and the
 * volume goes back to the pool, unless the instance wrote more than `RECYCLE_MAX_BYTES` to the
 * image or left more than `RECYCLE_MAX_INODES` files (deleting those would cost more than a new
 * volume; the image would keep the disk space). Recycling saves the ~7 helper processes of a
 * volume's life (mkfs, losetup, mount; umount) on every instance start and stop.
 */
export interface TmpVolume {
  /** Host directory to bind at /tmp: a fresh directory on the volume. */
  readonly hostDir: string;
  /** Give the volume back: wiped into the pool, or unmounted, detached and deleted. Idempotent. */
  release(): Promise<void>;
}

export interface TmpVolumes {
  /** A fresh volume of `sizeMb`: from the pool of pre-made ones when it has that size. */
  take(sizeMb: number): Promise<TmpVolume>;
  /** Unmount and delete every volume left by a platform that was killed. Returns how many. */
  sweepStale(): Promise<number>;
  /** Start making the pool's volumes in the background. */
  warm(): void;
  /** Release the pooled volumes and stop refilling. Idempotent. */
  close(): Promise<void>;
}

/**
 * -m 0: no root-reserved blocks, so the function sees the whole size; no journal: scratch data;
 * the file system's root owned by root (the caller sets its mode).
 */
const MKFS_ARGS = [
  "-q",
  "-F",
  "-m",
  "0",
  "-O",
  "^has_journal",
  "-E",
  "root_owner=0:0,lazy_itable_init=1,nodiscard",
];

/** Without fngraph-launch: `sh -c` this with the image, the mount point and the lock file. */
const CREATE_SCRIPT = [
  "set -e",
  `mkfs.ext4 ${MKFS_ARGS.join(" ")} "$1"`,
  // Concurrent `losetup --find` calls pick the same free device; the loser gets EBUSY and
  // losetup sleeps 200 ms before it tries again (measured: 3 of 10 parallel creates took
  // 213-418 ms). So finding and attaching a device happen one at a time, under a lock file that
  // other fngraph processes on the host take too; mkfs above runs in parallel.
  'exec 9>"$3"',
  "flock 9",
  // Direct I/O, where the backing file system offers it (tmpfs before 6.6 does not: EINVAL).
  'dev=$(losetup --find --show --direct-io=on "$1" 2>/dev/null) || dev=$(losetup --find --show "$1")',
  // Closing the lock file releases the lock, without a seventh program (`flock -u`); the mount
  // point's mode is set by the caller. Each program started costs ~5 ms of CPU on a slow VM.
  "exec 9>&-",
  // noinit_itable: the sparse image already reads as zeros, skip the background zeroing.
  'mount -t ext4 -o nosuid,nodev,noatime,noinit_itable "$dev" "$2" || { losetup -d "$dev"; exit 1; }',
].join("\n");

/** A volume whose image holds more than this (bytes on the host disk) is not recycled. */
export const RECYCLE_MAX_BYTES = 64 * 1024 * 1024;
/** Nor one that holds more than this many inodes (a fresh ext4 uses 11). */
export const RECYCLE_MAX_INODES = 1000;
/** Wiped volumes kept beyond the pool's target for the next starts. */
const SPARE_MAX = 8;
/** A take's refill waits this long: the volume's mkfs would compete with the start that took it. */
const REFILL_DELAY_MS = 250;
/** The pool grows to the takes of the last minute, up to this many (a burst's later starts). */
const DEMAND_MAX = 8;
const DEMAND_WINDOW_MS = 60_000;

export function createTmpVolumes(opts: {
  stateDir: string;
  uid: number;
  gid: number;
  logger: Logger;
  /**
   * Keep at least this many volumes of `poolSizeMb` ready (mkfs + mount costs ~10-30 ms), and up
   * to as many as were taken in the last minute (at most 8) when that is more. Default 0: none.
   */
  poolCount?: number;
  poolSizeMb?: number;
  /**
   * fngraph-launch (launcher.ts): volumes are then copied from an image mkfs made once per size
   * and attached and mounted by its `--mkvol` (one process instead of five). Without it, the
   * shell script.
   */
  launcherPath?: string;
}): TmpVolumes {
  const dir = path.join(opts.stateDir, "tmp");
  const attachLock = attachLockFile(dir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o711 });
  fs.chmodSync(dir, 0o711);
  // Templates live apart from the volumes (a sweep deletes whatever it does not know there).
  const templateDir = path.join(opts.stateDir, "tmp-templates");
  if (opts.launcherPath) {
    fs.rmSync(templateDir, { recursive: true, force: true });
    fs.mkdirSync(templateDir, { recursive: true, mode: 0o700 });
  }
  /** The launcher while `--mkvol` works here. */
  let mkvol = opts.launcherPath;
  const templates = new Map<number, Promise<string>>();
  /** The formatted image every volume of `sizeMb` is copied from, made on first use. */
  const template = (sizeMb: number): Promise<string> => {
    let t = templates.get(sizeMb);
    if (!t) {
      t = (async () => {
        const file = path.join(templateDir, `${Math.round(sizeMb)}.img`);
        const part = `${file}.${process.pid}.part`;
        sparseImage(part, sizeMb, "w");
        const r = await run("mkfs.ext4", [...MKFS_ARGS, part]);
        if (r.code !== 0) {
          fs.rmSync(part, { force: true });
          throw new Error(`cannot make the sandbox /tmp template: ${r.stderr.trim()}`);
        }
        fs.renameSync(part, file);
        return file;
      })();
      templates.set(sizeMb, t);
      // A failed template is made afresh by the next volume of its size.
      t.catch(() => templates.delete(sizeMb));
    }
    return t;
  };

  const releaseOne = async (img: string, mnt: string): Promise<void> => {
    // `umount -d` frees the loop device too: one helper process instead of three.
    let detached = false;
    if (isMounted(mnt)) {
      let r = await run("umount", ["-d", mnt]);
      detached = r.code === 0;
      // A process that still holds a file keeps it busy; detach lazily rather than leak it.
      if (r.code !== 0) r = await run("umount", ["-l", mnt]);
      if (r.code !== 0) opts.logger.warn({ mnt, stderr: r.stderr }, "sandbox /tmp umount failed");
    }
    const loops = detached ? { stdout: "" } : await run("losetup", ["-j", img]);
    for (const line of loops.stdout.split("\n")) {
      const dev = /^(\/dev\/loop\d+):/.exec(line)?.[1];
      if (dev) await run("losetup", ["-d", dev]);
    }
    fs.rmSync(img, { force: true });
    try {
      fs.rmdirSync(mnt);
    } catch {
      // Missing already, or still a lazily detached mount point; the next sweep retries.
    }
  };

  let seq = 0;
  // Volumes of this process, which a sweep must leave alone.
  const ours = new Set<string>();
  /** A mounted volume between instances. */
  interface Backing {
    img: string;
    mnt: string;
    sizeMb: number;
  }
  /** Volumes being made: close() waits for them before it removes the templates. */
  const making = new Set<Promise<unknown>>();
  const create = (sizeMb: number): Promise<Backing> => {
    const p = make(sizeMb);
    making.add(p);
    void p.catch(() => undefined).finally(() => making.delete(p));
    return p;
  };
  const make = async (sizeMb: number): Promise<Backing> => {
    const id = `v${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
    ours.add(id);
    const img = path.join(dir, `${id}.img`);
    const mnt = path.join(dir, id);
    fs.mkdirSync(mnt, { mode: 0o700 });
    let r: Awaited<ReturnType<typeof run>> | undefined;
    if (mkvol) {
      let from: string;
      try {
        from = await template(sizeMb);
      } catch (err) {
        fs.rmdirSync(mnt);
        throw err;
      }
      r = await run(mkvol, ["--mkvol", from, img, mnt]);
      if (r.code !== 0) {
        // A host where it cannot work (a kernel before 5.8 has no LOOP_CONFIGURE): the script
        // from now on, for this volume too.
        opts.logger.warn(
          { stderr: r.stderr.trim() },
          "fngraph-launch --mkvol failed; sandbox /tmp volumes are made by the script",
        );
        mkvol = undefined;
        await releaseOne(img, mnt);
        fs.mkdirSync(mnt, { mode: 0o700 });
        r = undefined;
      }
    }
    if (!r) {
      sparseImage(img, sizeMb, "wx");
      r = await run("/bin/sh", ["-c", CREATE_SCRIPT, "sh", img, mnt, attachLock]);
    }
    if (r.code !== 0) {
      await releaseOne(img, mnt);
      throw new Error(`cannot create the sandbox /tmp volume: ${r.stderr.trim()}`);
    }
    // The file system's root, now mounted there: root-owned, entered by the instances' ids.
    fs.chmodSync(mnt, 0o711);
    return { img, mnt, sizeMb };
  };
  const destroy = (b: Backing): Promise<void> => {
    ours.delete(path.basename(b.mnt));
    return releaseOne(b.img, b.mnt);
  };

  /** The instance's directory on a volume, owned by the function's ids. */
  let dirSeq = 0;
  const lend = (b: Backing): TmpVolume => {
    const hostDir = path.join(b.mnt, `d${++dirSeq}`);
    fs.mkdirSync(hostDir, { mode: 0o700 });
    fs.chownSync(hostDir, opts.uid, opts.gid);
    let released: Promise<void> | undefined;
    return { hostDir, release: () => (released ??= giveBack(b, hostDir)) };
  };
  const poolCount = opts.poolCount ?? 0;
  const poolSizeMb = opts.poolSizeMb ?? 512;
  const pool: Backing[] = [];
  let filling: Promise<void> | undefined;
  let refillTimer: NodeJS.Timeout | undefined;
  let closed = false;
  // The pool also holds recycled volumes of other sizes, up to SPARE_MAX beyond the target.
  const ready = (): number => pool.filter((b) => b.sizeMb === poolSizeMb).length;
  // Times of recent takes of the pool's size: a burst of new sandboxes raises the target, so the
  // next burst finds its volumes made (a pool with no configured volumes stays empty).
  const takes: number[] = [];
  const target = (): number => {
    if (poolCount === 0) return 0;
    const since = Date.now() - DEMAND_WINDOW_MS;
    while (takes.length > 0 && (takes[0] as number) < since) takes.shift();
    return Math.max(poolCount, Math.min(DEMAND_MAX, takes.length));
  };
  const refill = (): void => {
    if (filling || closed || ready() >= target()) return;
    filling = (async () => {
      try {
        while (!closed && ready() < target()) {
          const v = await create(poolSizeMb);
          if (closed) await destroy(v);
          else pool.push(v);
        }
      } catch (err) {
        opts.logger.warn({ err }, "cannot pre-make sandbox /tmp volumes");
      } finally {
        filling = undefined;
      }
    })();
  };

  // Volumes being wiped: a take of their size waits for one (a wipe takes a few ms, a new
  // volume 20-35) rather than making another.
  const wiping = new Map<Backing, Promise<void>>();
  const giveBack = (b: Backing, hostDir: string): Promise<void> => {
    const done = recycleOrDestroy(b, hostDir).finally(() => wiping.delete(b));
    wiping.set(b, done);
    return done;
  };
  /** Wipe the instance's directory and pool the volume, or destroy it. Never throws. */
  const recycleOrDestroy = async (b: Backing, hostDir: string): Promise<void> => {
    if (!closed && pool.length < target() + SPARE_MAX) {
      try {
        if (recyclable(b)) {
          await fs.promises.rm(hostDir, { recursive: true, force: true });
          const left = fs.readdirSync(b.mnt).filter((e) => e !== "lost+found");
          if (left.length === 0 && !closed) {
            pool.push(b);
            return;
          }
        }
      } catch (err) {
        opts.logger.warn({ err, hostDir }, "cannot wipe a sandbox /tmp volume; deleting it");
      }
    }
    await destroy(b);
  };

  return {
    async take(sizeMb) {
      if (sizeMb === poolSizeMb) takes.push(Date.now());
      const inWipe = [...wiping].find(([b]) => b.sizeMb === sizeMb)?.[1];
      if (inWipe && !pool.some((b) => b.sizeMb === sizeMb)) await inWipe;
      const i = pool.findIndex((b) => b.sizeMb === sizeMb);
      const found = i >= 0 ? pool.splice(i, 1)[0] : undefined;
      if (!refillTimer && !closed) {
        refillTimer = setTimeout(() => {
          refillTimer = undefined;
          refill();
        }, REFILL_DELAY_MS);
        refillTimer.unref();
      }
      return lend(found ?? (await create(sizeMb)));
    },
    warm: refill,
    async close() {
      closed = true;
      clearTimeout(refillTimer);
      await filling;
      await Promise.all(pool.splice(0).map((b) => destroy(b)));
      if (opts.launcherPath) {
        // A take that was making its volume meanwhile still reads its template.
        await Promise.allSettled([...making]);
        fs.rmSync(templateDir, { recursive: true, force: true });
      }
    },
    async sweepStale() {
      const names = new Set<string>();
      for (const e of fs.readdirSync(dir)) names.add(e.endsWith(".img") ? e.slice(0, -4) : e);
      for (const id of ours) names.delete(id);
      for (const name of names)
        await releaseOne(path.join(dir, `${name}.img`), path.join(dir, name));
      return names.size;
    },
  };
}

/** An empty image file of `sizeMb` (a hole: nothing on disk yet), root's only. */
function sparseImage(file: string, sizeMb: number, flags: "w" | "wx"): void {
  const fd = fs.openSync(file, flags, 0o600);
  try {
    fs.ftruncateSync(fd, Math.round(sizeMb) * 1024 * 1024);
  } finally {
    fs.closeSync(fd);
  }
}

/** Small enough to wipe and reuse: little written to the image, few files left. */
const HOST_LOCK_DIR = "/run/lock";

/**
 * The lock file under which volumes get their loop devices: host-wide where the host has the
 * usual lock directory, so that platforms sharing the host (the test suite runs several) take
 * turns too; else in the volumes' own directory.
 */
export function attachLockFile(volumesDir: string): string {
  return path.join(isDir(HOST_LOCK_DIR) ? HOST_LOCK_DIR : volumesDir, "fngraph-losetup.lock");
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function recyclable(b: { img: string; mnt: string }): boolean {
  if (fs.statSync(b.img).blocks * 512 > RECYCLE_MAX_BYTES) return false;
  const st = fs.statfsSync(b.mnt);
  return st.files - st.ffree <= RECYCLE_MAX_INODES;
}

function isMounted(dir: string): boolean {
  const text = fs.readFileSync("/proc/self/mounts", "utf8");
  return text.split("\n").some((l) => unescapeMountField(l.split(" ")[1] ?? "") === dir);
}
