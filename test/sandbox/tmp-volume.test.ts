import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { findLauncher } from "../../src/sandbox/launcher.js";
import {
  attachLockFile,
  createTmpVolumes,
  RECYCLE_MAX_BYTES,
  RECYCLE_MAX_INODES,
} from "../../src/sandbox/tmp-volume.js";
import { canRunTierA, makeTempDir } from "./helpers.js";

const mounted = (dir: string) =>
  fs
    .readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[1] === dir);

const launcher = findLauncher();

// Made by fngraph-launch --mkvol (a copy of a template image, attached and mounted in one
// process) or, without it, by the shell script (mkfs, losetup and mount): the same volumes.
describe
  .skipIf(!canRunTierA)
  .each([
    ...(launcher ? [{ how: "fngraph-launch --mkvol", launcherPath: launcher }] : []),
    { how: "the shell script", launcherPath: undefined },
  ])("sandbox /tmp volumes (loop-mounted ext4), made by $how", ({ launcherPath }) => {
  const root = makeTempDir("tmpvol");
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const way = launcherPath ? { launcherPath } : {};
  const open = (name: string, poolSizeMb = 32) =>
    createTmpVolumes({
      stateDir: path.join(root, name),
      uid: 1003,
      gid: 1003,
      logger: silentLogger,
      poolCount: 0,
      poolSizeMb,
      ...way,
    });

  it("lends a fresh directory owned by the function, never the file system's root", async () => {
    const vols = open("fresh");
    try {
      const v = await vols.take(32);
      const mnt = path.dirname(v.hostDir);
      expect(mounted(mnt)).toBe(true);
      const st = fs.statSync(v.hostDir);
      expect([st.uid, st.gid, st.mode & 0o777]).toEqual([1003, 1003, 0o700]);
      const top = fs.statSync(mnt);
      expect([top.uid, top.mode & 0o777]).toEqual([0, 0o711]);
      // A fresh ext4 of the size asked for: its root holds only lost+found and the lent dir.
      expect(fs.readdirSync(mnt).sort()).toEqual([path.basename(v.hostDir), "lost+found"]);
      const fsStat = fs.statfsSync(mnt);
      expect(fsStat.blocks * fsStat.bsize).toBeGreaterThan(28 * 1024 * 1024);
      expect(fsStat.blocks * fsStat.bsize).toBeLessThanOrEqual(32 * 1024 * 1024);
      // A sparse image: no more on the host's disk than the file system's own few blocks.
      const img = fs.statSync(`${mnt}.img`);
      expect(img.size).toBe(32 * 1024 * 1024);
      expect(img.blocks * 512).toBeLessThan(4 * 1024 * 1024);
      await v.release();
    } finally {
      await vols.close();
    }
    expect(fs.readdirSync(path.join(root, "fresh", "tmp"))).toEqual([]);
  });

  it("wipes a released volume and lends it again with nothing of the last instance", async () => {
    const vols = open("recycle");
    try {
      const a = await vols.take(32);
      const mnt = path.dirname(a.hostDir);
      fs.mkdirSync(path.join(a.hostDir, "x/y"), { recursive: true });
      fs.writeFileSync(path.join(a.hostDir, "x/y/secret"), "from instance a");
      fs.symlinkSync("/etc/passwd", path.join(a.hostDir, "link"));
      fs.chownSync(path.join(a.hostDir, "x"), 1003, 1003);
      await a.release();
      // The link was removed, not followed.
      expect(fs.existsSync("/etc/passwd")).toBe(true);

      // A take while the wipe is still running waits for it instead of making a new volume.
      const b = await vols.take(32);
      expect(path.dirname(b.hostDir)).toBe(mnt);
      fs.writeFileSync(path.join(b.hostDir, "f"), "b");
      const releasing = b.release();
      const c = await vols.take(32);
      await releasing;
      expect(path.dirname(c.hostDir)).toBe(mnt);
      expect(fs.readdirSync(c.hostDir)).toEqual([]);
      await c.release();

      const d = await vols.take(32);
      expect(path.dirname(d.hostDir)).toBe(mnt);
      expect([a.hostDir, b.hostDir, c.hostDir]).not.toContain(d.hostDir);
      expect(fs.readdirSync(d.hostDir)).toEqual([]);
      expect(fs.readdirSync(mnt).sort()).toEqual([path.basename(d.hostDir), "lost+found"].sort());
      await d.release();
    } finally {
      await vols.close();
    }
    expect(fs.readdirSync(path.join(root, "recycle", "tmp"))).toEqual([]);
  });

  it("deletes instead of recycling a volume that had many files or was written full", async () => {
    const vols = open("many", 32);
    try {
      const many = await vols.take(32);
      const manyMnt = path.dirname(many.hostDir);
      for (let i = 0; i <= RECYCLE_MAX_INODES; i++) {
        fs.writeFileSync(path.join(many.hostDir, `f${i}`), "");
      }
      await many.release();
      expect(mounted(manyMnt)).toBe(false);

      // Another size is recycled too, and lent only for that size.
      const other = await vols.take(16);
      const otherMnt = path.dirname(other.hostDir);
      await other.release();
      const next = await vols.take(32);
      expect([manyMnt, otherMnt]).not.toContain(path.dirname(next.hostDir));
      const again = await vols.take(16);
      expect(path.dirname(again.hostDir)).toBe(otherMnt);
      await Promise.all([next.release(), again.release()]);
    } finally {
      await vols.close();
    }
    const big = open("big", 128);
    try {
      const full = await big.take(128);
      const fullMnt = path.dirname(full.hostDir);
      const fill = path.join(full.hostDir, "fill");
      const fd = fs.openSync(fill, "w");
      fs.writeSync(fd, Buffer.alloc(RECYCLE_MAX_BYTES + 8 * 1024 * 1024, 1));
      fs.fsyncSync(fd); // on the image now; unsynced data deleted in time never reaches it
      fs.closeSync(fd);
      fs.rmSync(fill); // deleted, but the image keeps the blocks
      await full.release();
      expect(mounted(fullMnt)).toBe(false);
    } finally {
      await big.close();
    }
    for (const name of ["many", "big"]) {
      expect(fs.readdirSync(path.join(root, name, "tmp"))).toEqual([]);
    }
  });

  it("makes volumes in parallel; the script attaches their loop devices one at a time under a lock", async () => {
    const vols = open("parallel");
    const lock = attachLockFile(path.join(root, "parallel", "tmp"));
    // Another holder of the lock (-o: flock itself holds it, not the command it runs).
    const holder = spawn("flock", ["-o", lock, "-c", "echo held; exec sleep 60"], {
      detached: true,
      stdio: ["ignore", "pipe", "ignore"],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.once("data", () => resolve());
        holder.once("exit", () => reject(new Error("flock exited")));
      });
      let taken = false;
      const first = vols.take(32).then((v) => {
        taken = true;
        return v;
      });
      await new Promise((r) => setTimeout(r, 500));
      // fngraph-launch needs no lock: it tries the next device when another process took one.
      expect(taken).toBe(launcherPath !== undefined);
      process.kill(-(holder.pid ?? 0), "SIGKILL");
      const v = await first;
      expect(mounted(path.dirname(v.hostDir))).toBe(true);
      // Ten at once (concurrent `losetup --find` calls used to collide): ten devices, ten mounts.
      const many = await Promise.all(Array.from({ length: 10 }, () => vols.take(32)));
      const mnts = many.map((m) => path.dirname(m.hostDir));
      expect(new Set(mnts).size).toBe(10);
      for (const m of mnts) expect(mounted(m)).toBe(true);
      await Promise.all([v, ...many].map((m) => m.release()));
    } finally {
      try {
        process.kill(-(holder.pid ?? 0), "SIGKILL");
      } catch {
        // already gone
      }
      await vols.close();
    }
    expect(fs.readdirSync(path.join(root, "parallel", "tmp"))).toEqual([]);
  });

  it("keeps as many volumes ready as were taken in the last minute", async () => {
    const dir = path.join(root, "demand");
    const vols = createTmpVolumes({
      stateDir: dir,
      uid: 1003,
      gid: 1003,
      logger: silentLogger,
      poolCount: 1,
      poolSizeMb: 32,
      ...way,
    });
    const mountsUnder = () =>
      fs
        .readFileSync("/proc/self/mounts", "utf8")
        .split("\n")
        .filter((l) => (l.split(" ")[1] ?? "").startsWith(path.join(dir, "tmp") + "/")).length;
    const until = async (want: number) => {
      for (let i = 0; i < 200 && mountsUnder() !== want; i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      return mountsUnder();
    };
    try {
      vols.warm();
      expect(await until(1)).toBe(1);
      // A burst of four new sandboxes: the pool refills to four, not to the configured one.
      const held = await Promise.all(Array.from({ length: 4 }, () => vols.take(32)));
      expect(await until(8)).toBe(8);
      await new Promise((r) => setTimeout(r, 400));
      expect(mountsUnder()).toBe(8);
      await Promise.all(held.map((v) => v.release()));
    } finally {
      await vols.close();
    }
    expect(fs.readdirSync(path.join(dir, "tmp"))).toEqual([]);
  });
});

describe.skipIf(!canRunTierA)("sandbox /tmp volumes where --mkvol cannot work", () => {
  const root = makeTempDir("tmpvol-fallback");
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it("are made by the script instead, from the first failure on", async () => {
    // A "launcher" whose --mkvol fails, as fngraph-launch does on a kernel without LOOP_CONFIGURE.
    const vols = createTmpVolumes({
      stateDir: root,
      uid: 1003,
      gid: 1003,
      logger: silentLogger,
      poolCount: 0,
      launcherPath: "/bin/false",
    });
    try {
      const [a, b] = [await vols.take(32), await vols.take(32)];
      for (const v of [a, b]) {
        expect(mounted(path.dirname(v.hostDir))).toBe(true);
        expect(fs.statSync(v.hostDir).uid).toBe(1003);
      }
      await Promise.all([a.release(), b.release()]);
    } finally {
      await vols.close();
    }
    expect(fs.readdirSync(path.join(root, "tmp"))).toEqual([]);
    // close() removes the templates too.
    expect(fs.existsSync(path.join(root, "tmp-templates"))).toBe(false);
  });
});
