import fs from "node:fs";

/** Host pids (not zombies) owned by `uid`. */
export function pidsOfUid(uid: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (fs.statSync(`/proc/${e}`).uid !== uid) continue;
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z") out.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Poll `fn` until it returns true (every 20 ms, up to `ms`). */
export async function waitFor(fn: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (fn()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return fn();
}
