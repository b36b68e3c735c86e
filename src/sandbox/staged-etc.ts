import fs from "node:fs";
import path from "node:path";
import { run } from "./exec.js";

/** Host /etc entries a runtime needs (DNS, TLS roots, time zone, alternatives). */
const ETC_ENTRIES = [
  "resolv.conf",
  "hosts",
  "nsswitch.conf",
  "localtime",
  "ssl/certs",
  "ssl/openssl.cnf",
  "ca-certificates",
  "alternatives",
];

/** Host /etc entries bound into every sandbox: those of ETC_ENTRIES present, and the JDKs' conf. */
export function hostEtcEntries(etc = "/etc"): string[] {
  const out = ETC_ENTRIES.filter((e) => fs.existsSync(path.join(etc, e)));
  // Debian's JDKs keep conf/ (java.security) under /etc/java-N-openjdk: the Java runtime needs it.
  let names: string[] = [];
  try {
    names = fs.readdirSync(etc);
  } catch {
    // no /etc listing: no JDK configuration either
  }
  for (const name of names) if (/^java-\d+-openjdk$/.test(name)) out.push(name);
  return out;
}

export interface StagedEtcOptions {
  /** Where the staged copies live (a directory of the sandbox's state). */
  root: string;
  /** The host's /etc (tests point it elsewhere). */
  hostEtc?: string;
  /** Entries under hostEtc to copy; default hostEtcEntries(hostEtc). */
  entries?: readonly string[];
  /** How long a replaced copy stays for launches that already named it. */
  keepReplacedMs?: number;
}

export interface StagedEtc {
  /**
   * The sandbox's /etc for these ids: copies of the host's entries, and `passwd` and `group`
   * naming the ids. Made again (a new directory) when an entry changed on the host.
   */
  dirFor(ids: { uid: number; gid: number }): Promise<string>;
  close(): void;
}

/** What passwd and group say about the sandbox's ids. */
function writeIds(dir: string, uid: number, gid: number): void {
  // The function's ids are named `sandbox`; nobody/nogroup only when they are other ids.
  const passwd = [
    "root:x:0:0:root:/root:/usr/sbin/nologin",
    `sandbox:x:${uid}:${gid}:function:/tmp:/usr/sbin/nologin`,
    ...(uid === 65534 ? [] : ["nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin"]),
    "",
  ].join("\n");
  const group = [
    "root:x:0:",
    `sandbox:x:${gid}:`,
    ...(gid === 65534 ? [] : ["nogroup:x:65534:"]),
    "",
  ].join("\n");
  fs.writeFileSync(path.join(dir, "passwd"), passwd, { mode: 0o644 });
  fs.writeFileSync(path.join(dir, "group"), group, { mode: 0o644 });
}

/** How often the host's entries are looked at again (a stat each). */
const CHECK_EVERY_MS = 1000;

/**
 * One directory bound at /etc instead of a bind per host file: each bind is a mount in the
 * sandbox's namespace (~0.3 ms of bwrap's start each; docs/sandbox.md). Files are copied with
 * their content (a symlinked resolv.conf included, as a bind would show it); directories are
 * copied with their symlinks as they are (their targets are under /usr, which every sandbox has),
 * by `cp -a` (~90 ms for ssl/certs and alternatives, ~730 entries; fs.cpSync took 600 ms of the
 * event loop).
 * The host's entries are stat'd at most once a second; when one changed (mtime, size, inode),
 * the next sandbox gets a fresh copy, and the replaced one is removed a minute later.
 */
export function createStagedEtc(opts: StagedEtcOptions): StagedEtc {
  const hostEtc = opts.hostEtc ?? "/etc";
  const entries = opts.entries ?? hostEtcEntries(hostEtc);
  const keepMs = opts.keepReplacedMs ?? 60_000;
  fs.mkdirSync(opts.root, { recursive: true, mode: 0o755 });
  fs.chmodSync(opts.root, 0o755);
  for (const old of fs.readdirSync(opts.root)) {
    fs.rmSync(path.join(opts.root, old), { recursive: true, force: true });
  }

  const signature = (): string =>
    entries
      .map((e) => {
        try {
          const st = fs.statSync(path.join(hostEtc, e));
          return `${st.mtimeMs}:${st.size}:${st.ino}`;
        } catch {
          return "-";
        }
      })
      .join("|");

  let generation = 0;
  let current = signature();
  let checkedAt = Date.now();
  let dirs = new Map<string, Promise<string>>();
  const timers = new Set<NodeJS.Timeout>();

  const stage = async (dir: string, uid: number, gid: number): Promise<string> => {
    await fs.promises.rm(dir, { recursive: true, force: true });
    await fs.promises.mkdir(dir, { mode: 0o755 });
    await Promise.all(
      entries.map(async (e) => {
        const from = path.join(hostEtc, e);
        const to = path.join(dir, e);
        await fs.promises.mkdir(path.dirname(to), { recursive: true, mode: 0o755 });
        try {
          if (!(await fs.promises.stat(from)).isDirectory()) {
            await fs.promises.copyFile(from, to);
          } else if ((await run("cp", ["-a", "--", from, to])).code !== 0) {
            await fs.promises.cp(from, to, { recursive: true, verbatimSymlinks: true });
          }
        } catch {
          // gone meanwhile, or not readable: left out, as a bind of it would have failed
        }
      }),
    );
    writeIds(dir, uid, gid);
    await fs.promises.chmod(dir, 0o755);
    return dir;
  };

  const refresh = (): void => {
    const now = Date.now();
    if (now - checkedAt < CHECK_EVERY_MS) return;
    checkedAt = now;
    const sig = signature();
    if (sig === current) return;
    current = sig;
    generation += 1;
    const replaced = [...dirs.values()];
    dirs = new Map();
    const t = setTimeout(() => {
      timers.delete(t);
      for (const d of replaced)
        void d.then((p) => fs.promises.rm(p, { recursive: true, force: true }));
    }, keepMs);
    t.unref();
    timers.add(t);
  };

  return {
    dirFor(ids) {
      refresh();
      const key = `${ids.uid}-${ids.gid}`;
      let dir = dirs.get(key);
      if (!dir) {
        dir = stage(path.join(opts.root, `${key}.${generation}`), ids.uid, ids.gid);
        dirs.set(key, dir);
        // A failed copy is not kept: the next launch tries again.
        dir.catch(() => dirs.get(key) === dir && dirs.delete(key));
      }
      return dir;
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
