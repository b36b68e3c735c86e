import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import net from "node:net";
import os from "node:os";
import type { Duplex, Readable } from "node:stream";
import type { Logger } from "../core/logger.js";

/**
 * What a sandbox launch needs of the process it started (sandbox-process.ts): a ChildProcess of
 * the platform's own, or one `fngraph-launch --serve` started for it.
 */
export interface LaunchedChild {
  readonly pid?: number | undefined;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** The runtime's fd 3. */
  readonly channel: Duplex;
  once(event: "exit", cb: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  once(event: "error", cb: (err: Error) => void): unknown;
  kill(signal: NodeJS.Signals): boolean;
}

/** A ChildProcess spawned with stdio [ignore, pipe, pipe, pipe, …] as a LaunchedChild. */
export function childOf(child: ChildProcess): LaunchedChild {
  return Object.assign(child, {
    channel: child.stdio[3] as unknown as Duplex,
  }) as unknown as LaunchedChild;
}

/**
 * The platform's spawner: `fngraph-launch --serve` (launcher/fngraph-launch.c), one small process
 * that forks each launch. A `spawn()` of the platform itself forks the platform: the fork copies
 * the page tables of its ~150 MB, 4-9 ms of the event loop's thread per launch on a 2-core VM
 * (a node process of 43 MB: 1.9 ms, 147 MB: 9.3 ms, 249 MB: 14.2 ms per spawn(), measured), on
 * the critical path of every cold start. The spawner's fork costs ~0.1 ms, off the event loop.
 *
 * The launch's socket ends come back as node IPC handles (the channel `child_process` sets up
 * with an 'ipc' stdio); exits and kills go through the same channel. When the spawner is gone,
 * launches fork the platform again (`launch()` returns undefined), and a new spawner is started
 * at most every RESTART_MS.
 */
export interface Spawner {
  /** Start `launcherArgs` (the launcher's options, `--`, the program) with the seccomp file on
   * fd 4; undefined when the spawner is not running (the caller spawns itself). */
  launch(launcherArgs: readonly string[], seccompFile?: string): Promise<LaunchedChild> | undefined;
  close(): void;
}

const RESTART_MS = 10_000;
/** A launch's handles come back in well under a millisecond; none after this, the spawner is
 * taken for stuck: the launch fails, and the spawner is killed (and restarted later). */
const ANSWER_MS = 5_000;
const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(os.constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

/** A received IPC handle (node's Pipe) as a socket: `handle` is accepted at run time, though not
 * in the typings. */
function socketOf(handle: unknown): net.Socket {
  return new net.Socket({ handle, readable: true, writable: true } as net.SocketConstructorOpts);
}

/** What the spawner sends (launcher/fngraph-launch.c, `--serve`). */
interface Message {
  /** With a handle: launch `l`'s end of its fd `w` (1, 2, 3); `p` its pid. */
  l?: number;
  w?: number;
  p?: number;
  /** Launch `x` exited with code `c` or signal number `g`, or did not start (`e`, the reason). */
  x?: number;
  c?: number;
  g?: number;
  e?: string;
}

class RemoteChild extends EventEmitter implements LaunchedChild {
  pid: number | undefined;
  stdout!: Readable;
  stderr!: Readable;
  channel!: Duplex;
  exited = false;
  readonly id: number;
  private readonly send: (msg: object) => void;
  constructor(id: number, send: (msg: object) => void) {
    super();
    this.id = id;
    this.send = send;
  }
  kill(signal: NodeJS.Signals): boolean {
    if (this.exited) return false;
    this.send({ k: this.id, g: os.constants.signals[signal] });
    return true;
  }
}

export function createSpawner(
  launcher: string,
  log: Logger,
  opts: { restartMs?: number; answerMs?: number } = {},
): Spawner {
  const restartMs = opts.restartMs ?? RESTART_MS;
  const answerMs = opts.answerMs ?? ANSWER_MS;
  let proc: ChildProcess | undefined;
  let unavailableUntil = 0;
  let nextId = 0;
  let closed = false;
  interface Starting {
    child: RemoteChild;
    /** node's Pipe handles received so far, by fd (1, 2, 3). */
    got: Map<number, unknown>;
    resolve: (c: LaunchedChild) => void;
    /** An exit that node delivered before the last handle (it queues handles a turn later). */
    exit?: { code: number | null; signal: NodeJS.Signals | null };
  }
  const starting = new Map<number, Starting>();
  const running = new Map<number, RemoteChild>();

  /** Like a ChildProcess, a launch keeps the event loop alive until it exits; an idle spawner
   * does not. */
  const updateRef = (): void => {
    const channel = proc?.channel as { ref?: () => void; unref?: () => void } | undefined;
    if (starting.size + running.size > 0) channel?.ref?.();
    else channel?.unref?.();
  };

  const exit = (child: RemoteChild, code: number | null, signal: NodeJS.Signals | null): void => {
    child.exited = true;
    running.delete(child.id);
    updateRef();
    // After the promise callbacks of this turn: the launch's caller, resumed by the handles that
    // may have come in the same read, has attached its listeners by then.
    setImmediate(() => child.emit("exit", code, signal));
  };

  const onMessage = (msg: Message, handle: unknown): void => {
    if (msg.l !== undefined && msg.w !== undefined) {
      const s = starting.get(msg.l);
      if (!s) return;
      s.got.set(msg.w, handle);
      s.child.pid = msg.p;
      if (s.got.size < 3) return;
      starting.delete(msg.l);
      // The sockets are made in the turn that hands the child over: a socket starts reading
      // when made, and one made earlier could see its end before anyone listened.
      s.child.stdout = socketOf(s.got.get(1));
      s.child.stderr = socketOf(s.got.get(2));
      s.child.channel = socketOf(s.got.get(3));
      running.set(s.child.id, s.child);
      s.resolve(s.child);
      if (s.exit) exit(s.child, s.exit.code, s.exit.signal);
      return;
    }
    if (msg.x === undefined) return;
    if (msg.e !== undefined) {
      failStart(msg.x, msg.e);
      return;
    }
    const end = {
      code: msg.c ?? null,
      signal: msg.g !== undefined ? (SIGNAL_NAMES.get(msg.g) ?? null) : null,
    };
    const child = running.get(msg.x);
    if (child) exit(child, end.code, end.signal);
    else {
      const s = starting.get(msg.x);
      if (s) s.exit = end;
    }
  };

  /** A launch that did not start: its child has no pid and emits 'error', as spawn() gives. */
  const failStart = (id: number, reason: string): void => {
    const s = starting.get(id);
    if (!s) return;
    starting.delete(id);
    const fail = s.child;
    fail.exited = true;
    for (const handle of s.got.values()) socketOf(handle).destroy();
    fail.pid = undefined;
    fail.stdout = fail.stderr = fail.channel = new net.Socket();
    updateRef();
    s.resolve(fail);
    setImmediate(() => fail.emit("error", new Error(`spawner: ${reason}`)));
  };

  const start = (): ChildProcess | undefined => {
    if (proc) return proc;
    if (closed || Date.now() < unavailableUntil) return undefined;
    let p: ChildProcess;
    try {
      p = spawn(launcher, ["--serve"], { stdio: ["ignore", "ignore", "inherit", "ipc"], env: {} });
    } catch (err) {
      log.warn({ err }, "sandbox spawner could not start; launches fork the platform");
      unavailableUntil = Date.now() + restartMs;
      return undefined;
    }
    proc = p;
    p.on("message", onMessage);
    p.on("error", (err) => log.warn({ err }, "sandbox spawner failed"));
    p.once("exit", (code, signal) => {
      if (proc === p) proc = undefined;
      if (!closed) {
        log.warn({ code, signal }, "sandbox spawner exited; launches fork the platform for now");
        unavailableUntil = Date.now() + restartMs;
      }
      // Its launches die with it (bwrap --die-with-parent).
      for (const id of [...starting.keys()]) failStart(id, "exited");
      for (const child of [...running.values()]) exit(child, null, "SIGKILL");
    });
    // The spawner itself never keeps the platform alive; its launches do (updateRef).
    p.unref();
    updateRef();
    return p;
  };

  return {
    launch(launcherArgs, seccompFile) {
      const p = start();
      if (!p?.connected) return undefined;
      const id = ++nextId;
      const send = (msg: object): void => {
        if (p.connected) p.send(msg);
      };
      const child = new RemoteChild(id, send);
      return new Promise<LaunchedChild>((resolve) => {
        const timer = setTimeout(() => {
          if (!starting.has(id)) return;
          log.warn({ answerMs }, "sandbox spawner did not answer a launch; restarting it");
          failStart(id, `no answer in ${answerMs} ms`);
          p.kill("SIGKILL");
        }, answerMs);
        timer.unref();
        starting.set(id, {
          child,
          got: new Map(),
          resolve: (c) => {
            clearTimeout(timer);
            resolve(c);
          },
        });
        updateRef();
        send({
          id,
          a: Buffer.from(launcherArgs.map((a) => `${a}\0`).join("")).toString("base64"),
          s: Buffer.from(seccompFile ?? "").toString("base64"),
        });
      });
    },
    close() {
      closed = true;
      proc?.kill("SIGKILL");
    },
  };
}
