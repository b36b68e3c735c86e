import { request } from "undici";
import { expectEcho } from "./functions.js";
import { EVENT, NODE_NOOP } from "./handlers.js";
import { startOffline, type Offline } from "./peers.js";
import type { Row } from "./report.js";
import { round, summarize } from "./stats.js";

/**
 * The pause before each measured cold start. fngraph's are forced by a config update, which
 * retires the instance of the one before: without a pause, that instance's teardown (its process
 * exiting, its cgroup and /tmp cleaned up) runs during the measured start (on a 2-core machine the
 * p50 read 131-165 ms against 116 ms with the pause, session 6). serverless-offline's cold starts
 * get the same pause, so both start from an equally idle machine.
 */
export const COLD_PAUSE_MS = 500;

/**
 * serverless-offline's cold start: with --reloadHandler it loads the handler afresh on every call
 * (a new worker thread; no sandbox, no process). The cold section measures it interleaved with
 * fngraph's own cold starts, each call after the same pause as fngraph's, so both are taken in the
 * same minutes and from the same idle machine; the peers section measures it alone when the cold
 * section does not run.
 */
export interface OfflineCold {
  /** One timed call (ms), its answer checked. */
  call(): Promise<number>;
  /**
   * The row for `paced` (each call after a pause), after as many calls back to back for its
   * notes and detail.
   */
  row(paced: number[], how: string): Promise<Row>;
  stop(): Promise<void>;
}

export async function startOfflineCold(opts: {
  repoRoot: string;
  memoryMb: number;
  log: (l: string) => void;
}): Promise<OfflineCold> {
  const o: Offline = await startOffline({
    repoRoot: opts.repoRoot,
    handlers: { noop: NODE_NOOP },
    memoryMb: opts.memoryMb,
    reload: true,
    log: opts.log,
  });
  const url = `${o.origin}${o.invokePath("noop")}`;
  const call = async (): Promise<number> => {
    const t0 = performance.now();
    const res = await request(url, { method: "POST", body: EVENT });
    const body = await res.body.text();
    const ms = performance.now() - t0;
    expectEcho(res.statusCode, body);
    return ms;
  };
  return {
    call,
    async row(paced, how) {
      const backToBack: number[] = [];
      for (let i = 0; i < paced.length; i++) backToBack.push(await call());
      const s = summarize(paced);
      const b = summarize(backToBack);
      return {
        section: "cold",
        scenario: "cold start Node.js · serverless-offline",
        system: "serverless-offline",
        p50Ms: s.p50,
        tailMs: s.p95,
        tailLabel: "p95",
        notes:
          `--reloadHandler: the handler is loaded afresh for every call (no sandbox, no process); ` +
          `${how}; back to back, without the pause: p50 ${round(b.p50)} / p95 ${round(b.p95)} ms`,
        detail: {
          summary: s,
          samplesMs: paced.map((x) => round(x)),
          backToBack: { summary: b, samplesMs: backToBack.map((x) => round(x)) },
        },
      };
    },
    stop: () => o.stop(),
  };
}
