import { execFile } from "node:child_process";
import { HELPER_PATH, runViaHelper } from "./exec-helper.js";

/** Result of a short helper command (mkfs, mount, losetup, …). */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run a short host-side helper with a clean environment and never reject: callers decide what a
 * non-zero exit means. A clean env keeps host secrets and slow Node options out of helpers.
 */
export function run(file: string, args: string[], timeoutMs = 10_000): Promise<ExecResult> {
  // A fork of the platform costs its event loop 5-12 ms on a slow VM: a small helper forks.
  const viaHelper = runViaHelper(file, args, timeoutMs);
  if (viaHelper) return viaHelper;
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env: { PATH: HELPER_PATH }, timeout: timeoutMs, encoding: "utf8" },
      (err, stdout, stderr) => {
        const code =
          err === null ? 0 : typeof err.code === "number" ? err.code : err.killed ? 137 : 1;
        resolve({ code, stdout, stderr: stderr || (err?.message ?? "") });
      },
    );
  });
}

/** Resolve after `ms` milliseconds (used only by polling loops that wait for the kernel). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
