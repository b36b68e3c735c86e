import fs from "node:fs";
import path from "node:path";
import type { Logger } from "../core/logger.js";
import { run } from "./exec.js";

/**
 * Private /tmp volumes backed by a sparse ext4 image on the host's disk, loop-mounted by the host.
 *
 * Why not tmpfs: tmpfs pages are charged to the memory cgroup of the process that writes them, so
 * a function filling a tmpfs /tmp is OOM-killed instead of getting ENOSPC (measured, see
 * docs/sandbox.md). Page cache of a disk file system is charged too but is reclaimable, so it never
 * causes an OOM kill. The loop device uses direct I/O so the image is not cached twice.
 *
 * Layout under `<stateDir>/tmp`: `<id>.img` (the image) and `<id>/` (its mount point).
 */
export interface TmpVolume {
  /** Host path of the mounted file system, to bind at /tmp. */
  readonly hostDir: string;
  /** Unmount, detach the loop device and delete the image. Idempotent. */
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

const CREATE_SCRIPT = [
  "set -e",
  // -m 0: no root-reserved blocks, so the function sees the whole size; no journal: scratch data.
  'mkfs.ext4 -q -F -m 0 -O ^has_journal -E root_owner="$3",lazy_itable_init=1,nodiscard "$1"',
  'dev=$(losetup --find --show --direct-io=on "$1")',
  // noinit_itable: the sparse image already reads as zeros, skip the background zeroing.
  'mount -t ext4 -o nosuid,nodev,noatime,noinit_itable "$dev" "$2" || { losetup -d "$dev"; exit 1; }',
  'chmod 0700 "$2"',
].join("\n");

export function createTmpVolumes(opts: {
  stateDir: string;
  uid: number;
  gid: number;
  logger: Logger;
  /** Keep this many volumes of `poolSizeMb` ready (mkfs + mount costs ~30 ms). Default 0. */
  poolCount?: number;
  poolSizeMb?: number;
}): TmpVolumes {
  const dir = path.join(opts.stateDir, "tmp");
  fs.mkdirSync(dir, { recursive: true, mode: 0o711 });
  fs.chmodSync(dir, 0o711);

  const releaseOne = async (img: string, mnt: string): Promise<void> => {
    if (isMounted(mnt)) {
      let r = await run("umount", [mnt]);
      // A process that still holds a file keeps it busy; detach lazily rather than leak it.
      if (r.code !== 0) r = await run("umount", ["-l", mnt]);
      if (r.code !== 0) opts.logger.warn({ mnt, stderr: r.stderr }, "sandbox /tmp umount failed");
    }
    const loops = await run("losetup", ["-j", img]);
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
  const create = async (sizeMb: number): Promise<TmpVolume> => {
    const id = `v${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
    ours.add(id);
    const img = path.join(dir, `${id}.img`);
    const mnt = path.join(dir, id);
    fs.mkdirSync(mnt, { mode: 0o700 });
    const fd = fs.openSync(img, "wx", 0o600);
    try {
      fs.ftruncateSync(fd, Math.round(sizeMb) * 1024 * 1024);
    } finally {
      fs.closeSync(fd);
    }
    const r = await run("/bin/sh", [
      "-c",
      CREATE_SCRIPT,
      "sh",
      img,
      mnt,
      `${opts.uid}:${opts.gid}`,
    ]);
    if (r.code !== 0) {
      await releaseOne(img, mnt);
      throw new Error(`cannot create the sandbox /tmp volume: ${r.stderr.trim()}`);
    }
    let released: Promise<void> | undefined;
    return {
      hostDir: mnt,
      release: () => (released ??= releaseOne(img, mnt)),
    };
  };

  const poolCount = opts.poolCount ?? 0;
  const poolSizeMb = opts.poolSizeMb ?? 512;
  const pool: TmpVolume[] = [];
  let filling: Promise<void> | undefined;
  let closed = false;
  const refill = (): void => {
    if (filling || closed || pool.length >= poolCount) return;
    filling = (async () => {
      try {
        while (!closed && pool.length < poolCount) {
          const v = await create(poolSizeMb);
          if (closed) await v.release();
          else pool.push(v);
        }
      } catch (err) {
        opts.logger.warn({ err }, "cannot pre-make sandbox /tmp volumes");
      } finally {
        filling = undefined;
      }
    })();
  };

  return {
    take(sizeMb) {
      const ready = sizeMb === poolSizeMb ? pool.shift() : undefined;
      refill();
      return ready ? Promise.resolve(ready) : create(sizeMb);
    },
    warm: refill,
    async close() {
      closed = true;
      await filling;
      await Promise.all(pool.splice(0).map((v) => v.release()));
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

function isMounted(dir: string): boolean {
  const text = fs.readFileSync("/proc/self/mounts", "utf8");
  // Spaces and other specials are octal-escaped in the mount table.
  const unescape = (f: string) =>
    f.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text.split("\n").some((l) => unescape(l.split(" ")[1] ?? "") === dir);
}
