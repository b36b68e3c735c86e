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

function buildLauncher() {
  if (!existsSync(source)) return;
  const cc = ["cc", "gcc", "clang"].find(
    (c) => spawnSync(c, ["--version"], { stdio: "ignore" }).status === 0,
  );
  if (!cc) {
    console.warn("fngraph: no C compiler; sandboxes will start through the shell chain");
    return;
  }
  mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(cc, ["-O2", "-Wall", "-Wextra", "-Werror", "-o", tmp, source], {
    stdio: "inherit",
  });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    console.warn("fngraph: building fngraph-launch failed; the shell chain will be used");
    return;
  }
  renameSync(tmp, out);
}

buildLauncher();
