import { describe, expect, it } from "vitest";
import { isFsError } from "../../src/core/errors.js";
import { Pool, StartFailure, type Lease, type PoolOptions } from "../../src/invoker/pool.js";
import { createStartLimiter } from "../../src/invoker/start-limiter.js";
import { createManualClock, createStarter, flush, silent, type Starter } from "./helpers.js";

function makePool(
  starter: Starter,
  over: Partial<PoolOptions> = {},
): { pool: Pool; clock: ReturnType<typeof createManualClock> } {
  const clock = createManualClock();
  const pool = new Pool({
    key: "f/latest/1/128",
    maxInstances: -1,
    hardMaxInstances: 400,
    concurrentNum: 1,
    keepAliveMs: 60_000,
    maxQueue: 1000,
    queueTimeoutMs: 60_000,
    clock,
    logger: silent,
    start: () => starter.start(),
    ...over,
  });
  return { pool, clock };
}

const codeOf = (err: unknown): string | undefined => (isFsError(err) ? err.code : undefined);

/** Acquire n at once; collect leases and errors as they settle. */
function burst(pool: Pool, n: number, signals?: AbortSignal[]) {
  const leases: Lease[] = [];
  const errors: unknown[] = [];
  const all = Array.from({ length: n }, (_, i) =>
    pool.acquire(signals?.[i]).then(
      (l) => void leases.push(l),
      (e: unknown) => void errors.push(e),
    ),
  );
  return { leases, errors, all: Promise.all(all) };
}

describe("Pool limits", () => {
  it("never starts more than max instances, under 50 parallel calls", async () => {
    const starter = createStarter();
    starter.manual();
    const { pool } = makePool(starter, { maxInstances: 5 });
    const b = burst(pool, 50);
    await flush();
    expect(starter.waiting).toBe(5);
    starter.finish();
    await flush();
    expect(b.leases).toHaveLength(5);
    expect(pool.stats()).toMatchObject({ instances: 5, queued: 45, starting: 0 });
    // Releasing hands the slot to the next waiter; no start happens.
    for (let round = 0; round < 9; round++) {
      for (const l of b.leases.splice(0)) pool.release(l.slot);
      await flush();
      expect(b.leases).toHaveLength(5);
    }
    expect(starter.made).toHaveLength(5);
    expect(starter.waiting).toBe(0);
    for (const l of b.leases) pool.release(l.slot);
    await pool.close();
  });

  it("never runs more than concurrent_num calls on an instance", async () => {
    const starter = createStarter();
    const { pool } = makePool(starter, { maxInstances: 2, concurrentNum: 3 });
    const b = burst(pool, 20);
    await flush();
    expect(starter.made).toHaveLength(2);
    expect(b.leases).toHaveLength(6);
    const per = new Map<string, number>();
    for (const l of b.leases) per.set(l.slot.instance.id, (per.get(l.slot.instance.id) ?? 0) + 1);
    expect([...per.values()]).toEqual([3, 3]);
    for (const l of b.leases.splice(0)) pool.release(l.slot);
    await flush();
    expect(b.leases).toHaveLength(6);
    await pool.close();
    await b.all;
  });

  it("starts one instance per concurrent_num waiting calls", async () => {
    const starter = createStarter();
    starter.manual();
    const { pool } = makePool(starter, { concurrentNum: 32 });
    burst(pool, 32);
    await flush();
    expect(starter.waiting).toBe(1);
    burst(pool, 1);
    await flush();
    expect(starter.waiting).toBe(2);
    starter.finish();
    await flush();
    await pool.close();
  });

  it("refuses with FUNCTION_DISABLED when max instances is 0", async () => {
    const { pool } = makePool(createStarter(), { maxInstances: 0 });
    const err = await pool.acquire().catch((e: unknown) => e);
    expect(codeOf(err)).toBe("FUNCTION_DISABLED");
  });

  it("answers 429 exactly for the calls beyond the queue's length", async () => {
    const starter = createStarter();
    starter.manual();
    const { pool } = makePool(starter, { maxInstances: 1, maxQueue: 10 });
    // The first call waits for its own cold start (not queued); 10 queue; 14 are refused.
    const b = burst(pool, 25);
    await flush();
    expect(b.errors).toHaveLength(14);
    expect(b.errors.every((e) => codeOf(e) === "TOO_MANY_REQUESTS")).toBe(true);
    starter.finish();
    await flush();
    expect(b.leases).toHaveLength(1);
    await pool.close();
    await b.all;
  });

  it("ends a wait at the queue's time bound with 429, not a hang", async () => {
    const starter = createStarter();
    const { pool, clock } = makePool(starter, { maxInstances: 1, queueTimeoutMs: 1000 });
    const first = await pool.acquire();
    const waiting = pool.acquire().catch((e: unknown) => e);
    await clock.advance(999);
    expect(pool.stats().queued).toBe(1);
    await clock.advance(1);
    expect(codeOf(await waiting)).toBe("TOO_MANY_REQUESTS");
    expect(pool.stats().queued).toBe(0);
    pool.release(first.slot);
    await pool.close();
  });

  it("does not start instances for calls whose client went away (the bench's over-scaling)", async () => {
    const starter = createStarter();
    starter.manual();
    const { pool } = makePool(starter);
    // Round 1: 32 connections, each with one call waiting on a cold start; then they go away.
    const c1 = Array.from({ length: 32 }, () => new AbortController());
    const r1 = burst(
      pool,
      32,
      c1.map((c) => c.signal),
    );
    await flush();
    expect(starter.waiting).toBe(32);
    for (const c of c1) c.abort();
    await r1.all;
    expect(pool.stats().queued).toBe(0);
    // Round 2: 32 new connections; the 32 starts already running cover them.
    const r2 = burst(pool, 32);
    await flush();
    expect(starter.waiting).toBe(32);
    starter.finish();
    await flush();
    expect(starter.made).toHaveLength(32);
    expect(r2.leases).toHaveLength(32);
    for (const l of r2.leases) pool.release(l.slot);
    await pool.close();
  });

  it("fails the waiting call when its instance cannot start", async () => {
    const starter = createStarter();
    starter.manual();
    const { pool } = makePool(starter);
    const p = pool.acquire().catch((e: unknown) => e);
    await flush();
    starter.fail(new StartFailure(4001, { errorMessage: "x", errorType: "E" }, ""));
    expect(await p).toBeInstanceOf(StartFailure);
    await pool.close();
  });

  it("bounds parallel starts with the shared limiter", async () => {
    const starter = createStarter();
    starter.manual();
    const limiter = createStartLimiter(2);
    const { pool } = makePool(starter, { limiter });
    burst(pool, 10);
    await flush();
    expect(starter.waiting).toBe(2);
    expect(limiter.queued).toBe(8);
    starter.finish();
    await flush();
    expect(starter.waiting).toBe(2);
    for (let i = 0; i < 4; i++) {
      starter.finish();
      await flush();
    }
    expect(starter.made).toHaveLength(10);
    await pool.close();
  });
});

describe("Pool lifecycle on a fake clock", () => {
  it("stops an idle instance after the keep-alive, not before", async () => {
    const starter = createStarter();
    const { pool, clock } = makePool(starter, { keepAliveMs: 60_000 });
    const l = await pool.acquire();
    pool.release(l.slot);
    await clock.advance(59_999);
    expect(pool.size).toBe(1);
    await clock.advance(1);
    expect(pool.size).toBe(0);
    expect(starter.made[0]!.closed).toBe(true);
    await pool.close();
  });

  it("keeps reserved instances past the keep-alive and replaces one that dies", async () => {
    const starter = createStarter();
    const { pool, clock } = makePool(starter, { keepAliveMs: 1000 });
    pool.setMinInstances(2);
    await flush();
    expect(pool.size).toBe(2);
    // A burst scales above the reserve; the extra instance goes after the keep-alive.
    const b = burst(pool, 3);
    await flush();
    expect(pool.size).toBe(3);
    // The first calls on reserved instances are warm: they were started ahead of time.
    expect(b.leases.filter((l) => l.cold)).toHaveLength(1);
    for (const l of b.leases) pool.release(l.slot);
    await clock.advance(10_000);
    expect(pool.size).toBe(2);
    // kill -9 of a reserved instance: the pool starts a replacement.
    const victim = starter.made.find((i) => !i.dead)!;
    victim.crash();
    await flush();
    expect(pool.size).toBe(2);
    expect(starter.made).toHaveLength(4);
    pool.setMinInstances(0);
    await clock.advance(1000);
    expect(pool.size).toBe(0);
    await pool.close();
  });

  it("retire stops idle instances now and busy ones when their calls end", async () => {
    const starter = createStarter();
    const { pool } = makePool(starter, { concurrentNum: 1 });
    const b = burst(pool, 2);
    await flush();
    pool.release(b.leases[0]!.slot);
    pool.retire();
    expect(pool.size).toBe(1);
    const drained = pool.drained();
    pool.release(b.leases[1]!.slot);
    await drained;
    expect(pool.size).toBe(0);
    expect(starter.made.every((i) => i.closed)).toBe(true);
  });
});
