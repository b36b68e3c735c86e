import { spawn } from "node:child_process";
import fs from "node:fs";
import type { Socket } from "node:net";
import { FsError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import { run } from "./exec.js";

/**
 * Network mode `private` (tier A, root): the instance gets a network namespace of its own with
 * loopback and user-mode NAT egress through slirp4netns (docs/runtimes.md has the measurements
 * against veth + nft and pasta). Several instances can each listen on 127.0.0.1:8000, outbound
 * connections work, and --disable-host-loopback keeps the host's 127.0.0.1 out of reach.
 *
 * The namespace is a named one (`ip netns add`), created before the sandbox starts; the launch
 * chain enters it with `nsenter --net=<path>` and bwrap then shares it (`--share-net`). It is
 * owned by the host's user namespace, so nothing inside can reconfigure it.
 */
export interface PrivateNet {
  /** `/run/netns/<name>`, for `nsenter --net=`. */
  readonly path: string;
  /** False once its slirp4netns has exited (the namespace then has no way out). */
  readonly alive: boolean;
  /** The signal that ended its slirp4netns, if one did (null while it runs, or if it exited). */
  readonly exitSignal: NodeJS.Signals | null;
  /** Stop slirp4netns and delete the namespace. Idempotent, never rejects. */
  release(): Promise<void>;
}

export interface PrivateNetFactory {
  /** True when `ip` and slirp4netns are there and we are root. */
  readonly available: boolean;
  create(name: string, log: Logger): Promise<PrivateNet>;
  /** Delete namespaces `<prefix>*` left by a killed platform (their slirp4netns died with it). */
  sweepStale(prefix: string): Promise<number>;
}

const NETNS_DIR = "/run/netns";
const READY_TIMEOUT_MS = 5000;

export function createPrivateNetFactory(
  opts: { ipPath?: string; slirpPath?: string } = {},
): PrivateNetFactory {
  const ip = opts.ipPath ?? firstExisting(["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"]);
  const slirp = opts.slirpPath ?? firstExisting(["/usr/bin/slirp4netns"]);
  const available = process.getuid?.() === 0 && ip !== undefined && slirp !== undefined;

  const create = async (name: string, log: Logger): Promise<PrivateNet> => {
    if (!ip || !slirp) throw new Error("private network needs ip(8) and slirp4netns");
    const nsPath = `${NETNS_DIR}/${name}`;
    const added = await run(ip, ["netns", "add", name]);
    if (added.code !== 0) throw new Error(`ip netns add ${name}: ${added.stderr.trim()}`);
    const removeNs = async (): Promise<void> => {
      const r = await run(ip, ["netns", "delete", name]);
      if (r.code !== 0 && fs.existsSync(nsPath)) log.warn({ err: r.stderr }, "netns delete failed");
    };
    // fd 3: slirp4netns writes "1" once tap0 is configured; fd 4: slirp4netns exits when it is
    // closed, i.e. on release() or when the platform dies.
    const child = spawn(
      slirp,
      [
        "--configure",
        "--mtu=65520",
        "--disable-host-loopback",
        "--ready-fd=3",
        "--exit-fd=4",
        "--netns-type=path",
        nsPath,
        "tap0",
      ],
      { env: {}, stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] },
    );
    const readyPipe = child.stdio[3] as NodeJS.ReadableStream;
    const exitPipe = child.stdio[4] as Socket;
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
    const exited = new Promise<void>((r) => child.once("close", () => r()));
    const ready = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
      readyPipe.once("data", () => {
        clearTimeout(t);
        resolve(true);
      });
      child.once("exit", () => {
        clearTimeout(t);
        resolve(false);
      });
      child.once("error", () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    let released: Promise<void> | undefined;
    const release = (): Promise<void> =>
      (released ??= (async () => {
        // Closed, not ended: the stdio pipe is a socket pair, and slirp4netns waits for a hang-up,
        // which a half-close never gives (it was killed a second later, every time).
        exitPipe.destroy();
        let killed = false;
        const t = setTimeout(() => {
          killed = true;
          child.kill("SIGKILL");
        }, 1000);
        await exited;
        clearTimeout(t);
        if (killed && ready) log.warn("slirp4netns did not exit when its exit fd closed; killed");
        await removeNs();
      })());
    if (!ready) {
      child.kill("SIGKILL");
      await release();
      throw new Error(`slirp4netns did not configure ${name}: ${stderr.trim()}`);
    }
    readyPipe.on("error", () => {});
    return {
      path: nsPath,
      release,
      get alive() {
        return child.exitCode === null && child.signalCode === null;
      },
      get exitSignal() {
        return child.signalCode;
      },
    };
  };

  const sweepStale = async (prefix: string): Promise<number> => {
    if (!ip) return 0;
    let names: string[];
    try {
      names = fs.readdirSync(NETNS_DIR).filter((n) => n.startsWith(prefix));
    } catch {
      return 0;
    }
    for (const n of names) await run(ip, ["netns", "delete", n]);
    return names.length;
  };

  return { available, create, sweepStale };
}

function firstExisting(paths: string[]): string | undefined {
  return paths.find((p) => fs.existsSync(p));
}

export interface PrivateNetPool {
  /** A ready network, from the pool when one waits there; the pool then makes the next. */
  take(log: Logger): Promise<PrivateNet>;
  /** Release the waiting network, and one still being made. Later takes fail. */
  close(): Promise<void>;
}

/** How long after a take the pool starts making the next network (the taker's launch is under way). */
const REFILL_DELAY_MS = 50;

/**
 * Keeps one private network ready once the first was asked for: making one (`ip netns add`,
 * then slirp4netns until it has configured tap0) took ~21 ms, a tenth of an http function's cold
 * start. A network serves one instance and is released with it, like any other. Platforms whose
 * functions never ask for one keep none. Names are `<prefix>net-<n>-<random>`: the start-up sweep
 * of `<prefix>*` removes those of a killed platform.
 */
export function createPrivateNetPool(
  factory: Pick<PrivateNetFactory, "create">,
  prefix: string,
  log: Logger,
): PrivateNetPool {
  let ready: PrivateNet | undefined;
  let making: Promise<void> | undefined;
  let refillTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let counter = 0;
  const name = (): string => `${prefix}net-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

  const refill = (): void => {
    refillTimer = undefined;
    if (closed || ready || making) return;
    making = factory
      .create(name(), log)
      .then(
        (net) => {
          if (closed) return net.release();
          ready = net;
        },
        (err: unknown) => log.warn({ err }, "cannot make a private network ahead of time"),
      )
      .finally(() => (making = undefined));
  };
  const scheduleRefill = (): void => {
    if (closed || refillTimer) return;
    refillTimer = setTimeout(refill, REFILL_DELAY_MS);
    refillTimer.unref();
  };

  return {
    async take(instanceLog) {
      if (closed) throw new FsError("UNAVAILABLE", "sandbox is closed");
      const net = ready;
      ready = undefined;
      scheduleRefill();
      if (net?.alive) return net;
      if (net) void net.release();
      return factory.create(name(), instanceLog);
    },
    async close() {
      closed = true;
      if (refillTimer) clearTimeout(refillTimer);
      refillTimer = undefined;
      await making;
      const net = ready;
      ready = undefined;
      await net?.release();
    },
  };
}
