import { spawn, type ChildProcessByStdio } from "node:child_process";
import fs from "node:fs";
import type { Readable, Writable } from "node:stream";
import type { ExecResult } from "./exec.js";

/**
 * A small long-lived process that starts the platform's helper commands (mkfs, losetup, mount,
 * umount, ip …) for it. Every `spawn()` forks the platform, and a fork copies the page tables of
 * its ~110 MB: 5-12 ms of the event loop's thread each on a paravirtualised VM, once per /tmp
 * volume made and once per volume released. The helper is a Python process of ~10 MB whose
 * `subprocess` uses vfork. Requests and answers are JSON lines; each command runs on a thread
 * of its own, so commands still run in parallel.
 *
 * Where there is no /usr/bin/python3, or the helper cannot be started, `run()` forks as before.
 */
const HELPER_SOURCE = String.raw`
import json, os, subprocess, sys, threading
ENV = {"PATH": os.environ["PATH"]}
lock = threading.Lock()
def reply(msg):
    line = json.dumps(msg) + "\n"
    with lock:
        sys.stdout.write(line)
        sys.stdout.flush()
def work(req):
    out = {"id": req["id"], "code": 1, "stdout": "", "stderr": ""}
    try:
        p = subprocess.run([req["file"]] + req["args"], env=ENV, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=req["timeoutMs"] / 1000.0)
        out["code"] = p.returncode if p.returncode >= 0 else 1
        out["stdout"] = p.stdout.decode("utf-8", "replace")
        out["stderr"] = p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        out["code"] = 137
        out["stderr"] = "timed out after %d ms" % req["timeoutMs"]
    except Exception as e:
        out["stderr"] = str(e)
    reply(out)
for line in sys.stdin:
    threading.Thread(target=work, args=(json.loads(line),), daemon=True).start()
`;

const PYTHON = "/usr/bin/python3";
/** The whole environment of every helper command (and of the helper, which passes it on). */
export const HELPER_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
/** After the helper died, it is started again at most this often; meanwhile commands fork. */
const RESTART_MS = 10_000;

type Helper = ChildProcessByStdio<Writable, Readable, null>;

let helper: Helper | undefined;
let unavailableUntil = 0;
let nextId = 0;
const pending = new Map<number, (r: ExecResult) => void>();

function startHelper(): Helper | undefined {
  if (helper) return helper;
  if (Date.now() < unavailableUntil || process.env["FNGRAPH_EXEC_HELPER"] === "0") return undefined;
  if (!fs.existsSync(PYTHON)) {
    unavailableUntil = Infinity;
    return undefined;
  }
  let child: Helper;
  try {
    child = spawn(PYTHON, ["-I", "-S", "-c", HELPER_SOURCE], {
      stdio: ["pipe", "pipe", "ignore"],
      env: { PATH: HELPER_PATH },
    });
  } catch {
    unavailableUntil = Date.now() + RESTART_MS;
    return undefined;
  }
  let buffered = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let m: ExecResult & { id: number };
      try {
        m = JSON.parse(line) as ExecResult & { id: number };
      } catch {
        continue; // not ours (the helper writes nothing else): never a crash of the platform
      }
      const done = pending.get(m.id);
      pending.delete(m.id);
      done?.({ code: m.code, stdout: m.stdout, stderr: m.stderr });
    }
    if (pending.size === 0) setBusy(child, false);
  });
  const gone = (): void => {
    if (helper !== child) return;
    helper = undefined;
    unavailableUntil = Date.now() + RESTART_MS;
    // Whether these commands ran is unknown: they fail, and their callers clean up as for any.
    for (const done of pending.values()) {
      done({ code: 1, stdout: "", stderr: "the helper process that ran the command exited" });
    }
    pending.clear();
  };
  child.on("exit", gone);
  child.on("error", gone);
  child.stdin.on("error", gone);
  helper = child;
  setBusy(child, false);
  return child;
}

type Refable = { ref?: () => void; unref?: () => void };

/**
 * Keep the platform's process alive while commands are pending (`busy`), not while the helper
 * merely waits for work.
 */
function setBusy(child: Helper, busy: boolean): void {
  for (const h of [child, child.stdout as Refable, child.stdin as Refable]) {
    if (busy) h.ref?.();
    else h.unref?.();
  }
}

/**
 * Run `file` through the helper; undefined when there is none (the caller forks instead). The
 * command gets the same clean PATH-only environment, its exit code (137 after the timeout, 1
 * when it could not start or died of a signal), stdout and stderr.
 */
export function runViaHelper(
  file: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<ExecResult> | undefined {
  const child = startHelper();
  if (!child) return undefined;
  const id = ++nextId;
  return new Promise<ExecResult>((resolve) => {
    // As execFile's error says when a failed command printed nothing.
    pending.set(id, (r) =>
      resolve(
        r.code !== 0 && r.stderr === ""
          ? { ...r, stderr: `Command failed: ${[file, ...args].join(" ")}` }
          : r,
      ),
    );
    setBusy(child, true);
    child.stdin.write(JSON.stringify({ id, file, args, timeoutMs }) + "\n");
  });
}

/** Stop the helper (tests; the platform's exit closes its stdin, which ends it too). */
export function stopExecHelper(): void {
  helper?.kill();
}
