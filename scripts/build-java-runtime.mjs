// Builds the Java runtime (src/runtimes/java/shim/fngraph-runtime.jar) and the Context SDK users
// compile against (src/runtimes/java/shim/fngraph-java-sdk.jar) with javac, targeting Java 8.
// Run by postinstall; without a JDK it says so and does nothing (Java runtimes then fail to start).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const javaDir = path.join(root, "src", "runtimes", "java");
const outDir = path.join(javaDir, "shim");
const which = (cmd) =>
  spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).stdout.trim();
const javac = which("javac");
const jar = which("jar");
if (!javac || !jar) {
  console.warn("build-java-runtime: no javac/jar; the Java runtimes are not built");
  process.exit(0);
}
const sources = (dir) =>
  readdirSync(dir, { recursive: true })
    .map((f) => path.join(dir, String(f)))
    .filter((f) => f.endsWith(".java"));
const sdk = sources(path.join(javaDir, "sdk"));
const runtime = sources(path.join(javaDir, "runtime-src"));
const newest = Math.max(...[...sdk, ...runtime].map((f) => statSync(f).mtimeMs));
const runtimeJar = path.join(outDir, "fngraph-runtime.jar");
const sdkJar = path.join(outDir, "fngraph-java-sdk.jar");
if (existsSync(runtimeJar) && existsSync(sdkJar) && statSync(runtimeJar).mtimeMs > newest)
  process.exit(0);

const tmp = mkdtempSync(path.join(os.tmpdir(), "fngraph-java-"));
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    console.error(`build-java-runtime: ${path.basename(cmd)} failed`);
    process.exit(1);
  }
};
const sdkClasses = path.join(tmp, "sdk");
const rtClasses = path.join(tmp, "rt");
mkdirSync(outDir, { recursive: true });
// --release 8: the SDK and the runtime load on every JDK from 8 up.
run(javac, ["--release", "8", "-nowarn", "-d", sdkClasses, ...sdk]);
run(javac, ["--release", "8", "-nowarn", "-cp", sdkClasses, "-d", rtClasses, ...runtime]);
run(jar, ["cf", sdkJar, "-C", sdkClasses, "."]);
run(jar, ["cf", runtimeJar, "-C", sdkClasses, ".", "-C", rtClasses, "."]);
rmSync(tmp, { recursive: true, force: true });
console.log(
  `build-java-runtime: ${path.relative(root, runtimeJar)}, ${path.relative(root, sdkJar)}`,
);
