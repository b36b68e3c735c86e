// Builds native/fngraph-launch from src/sandbox/launcher/fngraph-launch.c (src/sandbox/launcher.ts)
// with the machine's C compiler. Without one, nothing is built and sandbox launches keep the
// shell chain (sh, nsenter, setpriv): slower, the same sandbox. Never fails the install.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const source = path.join(root, "src", "sandbox", "launcher", "fngraph-launch.c");
const out = path.join(root, "native", "fngraph-launch");

export function buildLauncher({ quiet = false } = {}) {
  if (!existsSync(source)) return false;
  const cc = ["cc", "gcc", "clang"].find(
    (c) => spawnSync(c, ["--version"], { stdio: "ignore" }).status === 0,
  );
  if (!cc) {
    if (!quiet)
      console.warn("fngraph: no C compiler; sandboxes will start through the shell chain");
    return false;
  }
  mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(cc, ["-O2", "-Wall", "-Wextra", "-Werror", "-o", tmp, source], {
    stdio: quiet ? "ignore" : "inherit",
  });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    if (!quiet)
      console.warn("fngraph: building fngraph-launch failed; the shell chain will be used");
    return false;
  }
  renameSync(tmp, out);
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildLauncher();
