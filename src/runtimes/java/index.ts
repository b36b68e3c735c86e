import path from "node:path";
import { FsError } from "../../core/errors.js";
import type { ZipEntry } from "../../packages/zip-entry.js";
import { baseEnv } from "../base-env.js";
import type { RuntimeDef } from "../types.js";

/** FunctionGraph Java runtime names, all served by the installed JDK (Debian 12: 17). */
export const JAVA_RUNTIME_NAMES = ["Java8", "Java11", "Java17"] as const;

export interface JavaRuntimeOptions {
  /** Absolute `java` launcher as visible inside the sandbox. */
  javaPath: string;
  /** Host directory holding `fngraph-runtime.jar` (built by scripts/build-java-runtime.mjs). */
  shimDir: string;
}

/** The heap gets this share of the function's memory; metaspace, code cache and stacks the rest. */
const HEAP_SHARE = 0.6;

export function createJavaRuntime(opts: JavaRuntimeOptions): RuntimeDef {
  return {
    language: "java",
    names: JAVA_RUNTIME_NAMES,
    shimDir: opts.shimDir,
    entryFile: (handler) => `${classOf(handler).replace(/\./g, "/")}.class`,
    command: (paths, { memoryMb }) => [
      opts.javaPath,
      `-Xmx${Math.max(32, Math.floor(memoryMb * HEAP_SHARE))}m`,
      "-Xss512k",
      "-XX:+UseSerialGC",
      // C1 only: a faster start, which matters more than peak speed for short calls.
      "-XX:TieredStopAtLevel=1",
      "-XX:-UsePerfData",
      "-Xshare:auto",
      // fd 3 as a FileDescriptor, and user variables visible to System.getenv().
      "--add-opens=java.base/java.io=ALL-UNNAMED",
      "--add-opens=java.base/java.lang=ALL-UNNAMED",
      "--add-opens=java.base/java.util=ALL-UNNAMED",
      "-cp",
      path.posix.join(paths.runtimeRoot, "fngraph-runtime.jar"),
      "io.fngraph.runtime.Main",
    ],
    baseEnv,
    checkPackage: (entries, handler) => checkJavaPackage(entries, handler),
    codeTypes: ["jar"],
  };
}

/** `com.example.Handler.handle` → `com.example.Handler`. */
function classOf(handler: string): string {
  const i = handler.lastIndexOf(".");
  return i <= 0 ? handler : handler.slice(0, i);
}

/** A JAR (code root or lib/) or the handler's class file must be in the package. */
function checkJavaPackage(entries: readonly ZipEntry[], handler: string): void {
  if (!/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+$/.test(handler)) {
    throw new FsError("INVALID_HANDLER", "Java handlers look like package.Class.method");
  }
  const classFile = `${classOf(handler).replace(/\./g, "/")}.class`;
  const ok = entries.some(
    (e) =>
      !e.isDir &&
      (e.path === classFile || (/^(lib\/)?[^/]+\.jar$/.test(e.path) && !e.path.startsWith("."))),
  );
  if (!ok) {
    throw new FsError(
      "HANDLER_FILE_NOT_FOUND",
      `The code package holds no JAR (at its root or in lib/) and no ${classFile}.`,
    );
  }
}
