import type { FnApi } from "./api.js";
import type { Floor } from "./floor.js";
import type { Row } from "./report.js";
import type { Server } from "./server.js";

/** Sample sizes and durations; `quick` shrinks them for a ~30 s smoke run. */
export interface Plan {
  latency: {
    noop: { warmup: number; requests: number };
    busy: { warmup: number; requests: number };
  };
  /**
   * `pairs`: the noop rows' share of the floor comes from this many runs of the floor and of the
   * row's server back to back (the floor's own speed moves between runs minutes apart).
   */
  throughput: { connections: number; warmupS: number; durationS: number; pairs: number };
  cold: { starts: number };
}

export const FULL_PLAN: Plan = {
  latency: {
    noop: { warmup: 200, requests: 2000 },
    // 10 ms each: 1,000 samples keep the whole run under ~3 minutes and p99 meaningful.
    busy: { warmup: 100, requests: 1000 },
  },
  throughput: { connections: 32, warmupS: 3, durationS: 10, pairs: 3 },
  cold: { starts: 20 },
};

export const QUICK_PLAN: Plan = {
  latency: {
    noop: { warmup: 50, requests: 300 },
    busy: { warmup: 20, requests: 100 },
  },
  throughput: { connections: 32, warmupS: 1, durationS: 2, pairs: 1 },
  cold: { starts: 5 },
};

/** What a section gets: the platform client, the floor, the plan, and where rows go. */
export interface BenchContext {
  api: FnApi;
  floor: Floor | undefined;
  plan: Plan;
  /** memory_size of every function the bench creates (128 unless --memory). */
  memoryMb: number;
  /** Isolation tier the server reports (A/B enforce a CPU quota that scales with memory). */
  tier: string;
  log: (line: string) => void;
  addRow: (row: Row) => void;
  /** The repository (the peers section installs into bench/.peers). */
  repoRoot?: string;
  /**
   * Both the cold and the peers sections run: serverless-offline's cold start is measured in the
   * cold section, call by call between fngraph's Node.js cold starts (offline-cold.ts).
   */
  coldWithPeers?: boolean;
  /** Start another fngraph server like the main one, with extra FNGRAPH_* settings. */
  startServer?: (env: Record<string, string>) => Promise<Server>;
}
