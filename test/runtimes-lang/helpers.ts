import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { deployFunction, type TestPlatform } from "../helpers/platform.js";

export const FIXTURES = path.join(import.meta.dirname, "..", "fixtures", "functions");

/** Fixture files for `zipFiles`, executables marked with a trailing `*` so they keep mode 0755. */
export function fixtureWithModes(name: string): Record<string, Buffer> {
  const root = path.join(FIXTURES, name);
  const out: Record<string, Buffer> = {};
  const walk = (dir: string, prefix: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, e.name);
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) walk(abs, rel);
      else out[(statSync(abs).mode & 0o111) !== 0 ? `${rel}*` : rel] = readFileSync(abs);
    }
  };
  walk(root, "");
  return out;
}

/** Absolute path of a command, or undefined. */
export function which(cmd: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  const p = r.stdout.trim();
  return r.status === 0 && p && existsSync(p) ? p : undefined;
}

/** Create a function from files (throws with the response text on failure). */
export async function createFunction(
  t: TestPlatform,
  name: string,
  runtime: string,
  files: Record<string, string | Buffer>,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await deployFunction(t, name, runtime, files, extra);
}

export const invoke = (
  t: TestPlatform,
  name: string,
  event: unknown,
  headers: Record<string, string> = {},
) => t.api("POST", t.v2(`/fgs/functions/${name}/invocations`), event, headers);
