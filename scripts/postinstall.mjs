// `npm install` builds the TypeScript sources, so `npm start` works right after it.
// Skipped when installed without dev tooling (then dist/ must already be there).
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
// Public dependency packages (docs/dependencies.md); if this fails, none ship and that is all.
spawnSync(process.execPath, [path.join(root, "scripts", "build-public-deps.mjs")], {
  cwd: root,
  stdio: "inherit",
});
// The sandbox launcher (src/sandbox/launcher.ts); without a C compiler, the shell chain.
spawnSync(process.execPath, [path.join(root, "scripts", "build-launcher.mjs")], {
  cwd: root,
  stdio: "inherit",
});
// The Java runtime and Context SDK JARs (docs/runtimes.md); without a JDK, no Java.
spawnSync(process.execPath, [path.join(root, "scripts", "build-java-runtime.mjs")], {
  cwd: root,
  stdio: "inherit",
});
const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
if (!existsSync(tsc) || !existsSync(path.join(root, "src"))) process.exit(0);
const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});
process.exit(r.status ?? 1);
