import { mkdirSync, promises as fs } from "node:fs";
import path from "node:path";
import type { Clock, TimerHandle } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import { launchRuntime, type LaunchedRuntime } from "../runtimes/instance.js";
import type { RuntimeDef } from "../runtimes/types.js";
import type { Sandbox } from "../sandbox/types.js";
import { cpuMillicores } from "./function-env.js";
import { showCode } from "./show-code.js";
import type { StartLimiter } from "./start-limiter.js";

/** What a prewarmed runtime is fixed to at launch (sandbox notes §11.6). */
export interface PrewarmKey {
  runtime: RuntimeDef;
  memoryMb: number;
  network: "full" | "loopback";
  tmpMb: number;
}

/** One configured entry: keep `count` runtimes of a language ready at a memory size. */
export interface PrewarmSpec {
  language: string;
  memoryMb: number;
  network: "full" | "loopback";
  count: number;
}

/** A runtime taken out of the pool: show it a function's code, then `runtime.load(...)`. */
export interface PrewarmedSlot {
  readonly runtime: LaunchedRuntime;
  /** Host directory the sandbox shows at its code root (empty until `showCode`). */
  readonly codeDir: string;
  /** Make the unpacked code in `from` visible inside the sandbox. */
  showCode(from: string): Promise<void>;
}

export interface PrewarmPoolOptions {
  sandbox: Sandbox;
  runtimes: readonly RuntimeDef[];
  /** Parent of the per-slot code directories (e.g. `<dataDir>/prewarm`). */
  dir: string;
  specs: readonly PrewarmSpec[];
  /** Demand-driven ceiling per key: recent cold starts grow a key's pool up to this. */
  maxPerKey: number;
  /** Window in which cold starts count as demand. Default 60 s. */
  demandWindowMs?: number;
  /** /tmp size of prewarmed sandboxes; functions asking for another size start cold. */
  tmpMb: number;
  clock: Clock;
  logger: Logger;
  limiter?: StartLimiter;
}

export interface PrewarmStats {
  ready: number;
  launching: number;
  taken: number;
  misses: number;
  keys: Record<string, { ready: number; launching: number; target: number }>;
}

export interface PrewarmPool {
  /**
   * A ready runtime for this key, or undefined (the caller starts cold). A slot is handed out
   * once: it never goes back to the pool, so it never serves two functions.
   */
  take(key: PrewarmKey): PrewarmedSlot | undefined;
  /** Launch the configured runtimes (done in the background). */
  start(): void;
  stats(): PrewarmStats;
  close(): Promise<void>;
}

/** `nodejs:128=2,python:256:loopback=1` → specs (network defaults to full); "off" → none. */
export function parsePrewarmSpecs(text: string): PrewarmSpec[] {
  const specs: PrewarmSpec[] = [];
  if (text.trim() === "off") return specs;
  for (const part of text.split(",").map((s) => s.trim())) {
    if (!part) continue;
    const m = /^([a-z0-9]+):(\d+)(?::(full|loopback))?=(\d+)$/.exec(part);
    if (!m) throw new Error(`bad prewarm entry "${part}" (want <language>:<memoryMB>[:network]=n)`);
    specs.push({
      language: m[1]!,
      memoryMb: Number(m[2]),
      network: (m[3] ?? "full") as "full" | "loopback",
      count: Number(m[4]),
    });
  }
  return specs;
}

interface KeyState {
  key: PrewarmKey;
  name: string;
  configured: number;
  ready: LaunchedRuntimeSlot[];
  launching: number;
  /** Times of recent takes and misses: the demand for cold starts of this key. */
  demand: number[];
}

interface LaunchedRuntimeSlot extends PrewarmedSlot {
  readonly launchedAt: number;
}

const REFILL_DELAY_MS = 300;

const keyName = (k: PrewarmKey): string =>
  `${k.runtime.language}/${k.memoryMb}/${k.network}/${k.tmpMb}`;

/**
 * Generic sandboxed runtimes started ahead of time per (runtime, memory, network mode, /tmp
 * size), specialised on a cold start by showing them the function's code and sending `load`.
 * Sized by configuration, grown by observed demand up to `maxPerKey`, trimmed back when it fades.
 */
export function createPrewarmPool(opts: PrewarmPoolOptions): PrewarmPool {
  const log = opts.logger.child({ part: "prewarm" });
  const windowMs = opts.demandWindowMs ?? 60_000;
  const keys = new Map<string, KeyState>();
  const languages = new Set(opts.specs.filter((s) => s.count >= 0).map((s) => s.language));
  let seq = 0;
  let taken = 0;
  let misses = 0;
  let closed = false;
  let trimTimer: TimerHandle | undefined;
  /** Runtimes launched and not taken: the pool stops them on close. */
  const everyone = new Set<LaunchedRuntime>();
  const launches = new Set<Promise<void>>();

  mkdirSync(opts.dir, { recursive: true, mode: 0o711 });

  const stateFor = (key: PrewarmKey, configured = 0): KeyState => {
    const name = keyName(key);
    let s = keys.get(name);
    if (!s) {
      s = { key, name, configured, ready: [], launching: 0, demand: [] };
      keys.set(name, s);
    }
    return s;
  };

  const target = (s: KeyState): number => {
    const since = opts.clock.now() - windowMs;
    while (s.demand.length > 0 && s.demand[0]! < since) s.demand.shift();
    return Math.max(s.configured, Math.min(opts.maxPerKey, s.demand.length));
  };

  const launchOne = async (s: KeyState): Promise<void> => {
    const id = `pw-${process.pid}-${++seq}`;
    const codeDir = path.join(opts.dir, id);
    await fs.mkdir(codeDir, { mode: 0o755 });
    await fs.chmod(codeDir, 0o755);
    const removeDir = (): void => {
      void fs.rm(codeDir, { recursive: true, force: true }).catch(() => undefined);
    };
    let runtime: LaunchedRuntime;
    try {
      runtime = await launchRuntime({
        id,
        sandbox: opts.sandbox,
        runtime: s.key.runtime,
        codeDir,
        memoryMb: s.key.memoryMb,
        cpuMillicores: cpuMillicores(s.key.memoryMb),
        tmpMb: s.key.tmpMb,
        network: s.key.network,
        mounts: [],
        logger: log,
        clock: opts.clock,
      });
    } catch (err) {
      removeDir();
      throw err;
    }
    everyone.add(runtime);
    if (s.key.runtime.warmUp) runtime.warm();
    const slot: LaunchedRuntimeSlot = {
      runtime,
      codeDir,
      launchedAt: opts.clock.now(),
      showCode: async (from) => {
        await showCode(from, codeDir);
      },
    };
    runtime.onExit(() => {
      everyone.delete(runtime);
      removeDir();
      const i = s.ready.indexOf(slot);
      if (i >= 0) {
        // Died while waiting in the pool: replace it.
        s.ready.splice(i, 1);
        refill(s);
      }
    });
    if (closed) {
      await runtime.kill();
      return;
    }
    s.ready.push(slot);
  };

  const refill = (s: KeyState): void => {
    if (closed) return;
    const want = target(s);
    while (s.ready.length + s.launching < want) {
      s.launching++;
      const go = (): Promise<void> => (closed ? Promise.resolve() : launchOne(s));
      const p = (opts.limiter ? opts.limiter.run(go) : go())
        .catch((err: unknown) => log.warn({ err, key: s.name }, "prewarm launch failed"))
        .finally(() => {
          s.launching--;
          launches.delete(p);
        });
      launches.add(p);
    }
    scheduleTrim();
  };

  /** Stop runtimes above the target once the demand that grew the pool has passed. */
  const scheduleTrim = (): void => {
    if (trimTimer || closed) return;
    trimTimer = opts.clock.setTimeout(() => {
      trimTimer = undefined;
      let more = false;
      for (const s of keys.values()) {
        const want = target(s);
        while (s.ready.length > want) void s.ready.shift()!.runtime.kill();
        if (s.ready.length > s.configured || s.demand.length > 0) more = true;
      }
      if (more) scheduleTrim();
    }, windowMs);
    trimTimer.unref?.();
  };

  return {
    start() {
      for (const spec of opts.specs) {
        const runtime = opts.runtimes.find((r) => r.language === spec.language);
        if (!runtime) {
          log.warn({ language: spec.language }, "no runtime for a prewarm entry");
          continue;
        }
        const s = stateFor(
          { runtime, memoryMb: spec.memoryMb, network: spec.network, tmpMb: opts.tmpMb },
          spec.count,
        );
        s.configured = spec.count;
        refill(s);
      }
    },
    take(key) {
      if (closed || !languages.has(key.runtime.language) || key.tmpMb !== opts.tmpMb) return;
      const s = stateFor(key);
      s.demand.push(opts.clock.now());
      let slot: LaunchedRuntimeSlot | undefined;
      while ((slot = s.ready.shift()) && slot.runtime.dead);
      if (slot) {
        taken++;
        // From here on the slot belongs to the function's pool, which stops it.
        everyone.delete(slot.runtime);
      } else misses++;
      // Refill later: a launch takes ~100-150 ms of CPU on 2 cores, and launched at once it
      // competed with the cold start that just took the slot (load + first call: 50 ms delay gave
      // a pool cold start p50 of 87-141 ms on a slow VM, 300 ms gave 59-79 ms).
      const t = opts.clock.setTimeout(() => refill(s), REFILL_DELAY_MS);
      t.unref?.();
      return slot;
    },
    stats() {
      const out: PrewarmStats = { ready: 0, launching: 0, taken, misses, keys: {} };
      for (const s of keys.values()) {
        out.ready += s.ready.length;
        out.launching += s.launching;
        out.keys[s.name] = { ready: s.ready.length, launching: s.launching, target: target(s) };
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (trimTimer) opts.clock.clearTimeout(trimTimer);
      for (const s of keys.values()) s.ready.length = 0;
      await Promise.all([...launches]);
      await Promise.all([...everyone].map((r) => r.kill()));
    },
  };
}
