import type { Slot } from "./pool-types.js";

/**
 * Idle mode: of the idle instances, the `keep` most recently used stay frozen, the others run.
 * `keep` is the reserved minimum less the busy instances (0 outside idle mode).
 */
export function parkPlan(
  slots: Iterable<Slot>,
  reservedMin: number,
  idleMode: boolean,
): { freeze: Slot[]; thaw: Slot[] } {
  const all = [...slots];
  const idle = all
    .filter((s) => s.inflight === 0 && !s.instance.dead)
    .sort((a, b) => b.lastUsed - a.lastUsed);
  const busy = all.filter((s) => s.inflight > 0).length;
  const keep = idleMode ? Math.max(0, reservedMin - busy) : 0;
  return { freeze: idle.slice(0, keep), thaw: idle.slice(keep) };
}

/** Idle instances above the reserved minimum whose keep-alive ran out, least recently used first. */
export function reapable(
  slots: Iterable<Slot>,
  reservedMin: number,
  keepAliveMs: number,
  now: number,
): Slot[] {
  const all = [...slots];
  const idle = all
    .filter((s) => s.inflight === 0)
    // Idle mode: of equally old ones, reap the running (on-demand) one, keep the frozen.
    .sort((a, b) => a.lastUsed - b.lastUsed || Number(!!a.frozen) - Number(!!b.frozen));
  const spare = Math.max(0, all.length - reservedMin);
  return idle.slice(0, spare).filter((s) => s.lastUsed + keepAliveMs <= now);
}

/** When the first idle instance's keep-alive runs out (Infinity: none is idle). */
export function nextReapDue(slots: Iterable<Slot>, keepAliveMs: number): number {
  let due = Infinity;
  for (const s of slots) if (s.inflight === 0) due = Math.min(due, s.lastUsed + keepAliveMs);
  return due;
}
