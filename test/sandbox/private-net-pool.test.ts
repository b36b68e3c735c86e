import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { silentLogger, type Logger } from "../../src/core/logger.js";
import {
  createPrivateNetFactory,
  createPrivateNetPool,
  type PrivateNet,
} from "../../src/sandbox/private-net.js";

const PREFIX = "fngraph-pooltest-";
const settle = (ms = 200) => new Promise((r) => setTimeout(r, ms));

/** A factory that hands out fake networks and records what it was asked for. */
function fakeFactory() {
  const made: { name: string; released: boolean; alive: boolean }[] = [];
  return {
    made,
    async create(name: string): Promise<PrivateNet> {
      const rec = { name, released: false, alive: true };
      made.push(rec);
      return {
        path: `/run/netns/${name}`,
        get alive() {
          return rec.alive;
        },
        exitSignal: null,
        release: async () => {
          rec.released = true;
        },
      };
    },
  };
}

describe("private network pool", () => {
  it("makes none before the first take, then keeps one ready for the next", async () => {
    const f = fakeFactory();
    const pool = createPrivateNetPool(f, PREFIX, silentLogger);
    await settle();
    expect(f.made).toHaveLength(0);
    const first = await pool.take(silentLogger);
    expect(f.made).toHaveLength(1);
    expect(first.path).toBe(`/run/netns/${f.made[0]?.name}`);
    await settle();
    // Made ahead of time, under the sweep's prefix.
    expect(f.made).toHaveLength(2);
    expect(f.made[1]?.name.startsWith(`${PREFIX}net-`)).toBe(true);
    const second = await pool.take(silentLogger);
    expect(second.path).toBe(`/run/netns/${f.made[1]?.name}`);
    expect(f.made).toHaveLength(2);
    // Each network serves one instance: the pool never hands one out twice.
    await settle();
    const third = await pool.take(silentLogger);
    expect(new Set([first.path, second.path, third.path]).size).toBe(3);
    await pool.close();
  });

  it("replaces a waiting network whose slirp4netns died", async () => {
    const f = fakeFactory();
    const pool = createPrivateNetPool(f, PREFIX, silentLogger);
    await pool.take(silentLogger);
    await settle();
    const waiting = f.made[1];
    if (!waiting) throw new Error("nothing made ahead");
    waiting.alive = false;
    const net = await pool.take(silentLogger);
    expect(net.path).not.toBe(`/run/netns/${waiting.name}`);
    expect(waiting.released).toBe(true);
    await pool.close();
  });

  it("close releases the waiting network and the one being made; later takes fail", async () => {
    const f = fakeFactory();
    let finish: (() => void) | undefined;
    const slow = {
      create: async (name: string): Promise<PrivateNet> => {
        if (f.made.length === 2) await new Promise<void>((r) => (finish = r));
        return f.create(name);
      },
    };
    const pool = createPrivateNetPool(slow, PREFIX, silentLogger);
    await pool.take(silentLogger);
    await settle();
    const waiting = f.made[1];
    await pool.take(silentLogger);
    await settle();
    // The third is being made when the pool closes.
    const closing = pool.close();
    finish?.();
    await closing;
    expect(waiting?.released).toBe(false); // taken: its instance releases it
    expect(f.made[2]?.released).toBe(true);
    await expect(pool.take(silentLogger)).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });

  const real = createPrivateNetFactory();
  it.skipIf(!real.available)(
    "slirp4netns exits by itself when its network is released",
    async () => {
      const warnings: unknown[] = [];
      const log: Logger = { ...silentLogger, warn: (o) => void warnings.push(o) };
      const net = await real.create(`${PREFIX}exit`, log);
      await net.release();
      // Not killed by the one-second fallback (it was, every time, while its exit fd was only
      // half-closed).
      expect(warnings).toEqual([]);
      expect(net.alive).toBe(false);
      expect(net.exitSignal).toBeNull();
      expect(fs.existsSync(net.path)).toBe(false);
    },
  );

  it.skipIf(!real.available)("a network made ahead of time is a working namespace", async () => {
    const pool = createPrivateNetPool(real, PREFIX, silentLogger);
    try {
      const first = await pool.take(silentLogger);
      await settle(1000);
      const second = await pool.take(silentLogger);
      expect(second.path).not.toBe(first.path);
      expect(second.alive).toBe(true);
      expect(fs.existsSync(second.path)).toBe(true);
      await first.release();
      await second.release();
      expect(fs.existsSync(second.path)).toBe(false);
    } finally {
      await pool.close();
    }
    // Nothing of the pool's is left.
    const left = fs.existsSync("/run/netns")
      ? fs.readdirSync("/run/netns").filter((n) => n.startsWith(PREFIX))
      : [];
    expect(left).toEqual([]);
  });
});
