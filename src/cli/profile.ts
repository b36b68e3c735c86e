import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { CliError } from "./errors.js";

/** One saved login. The password is kept (file mode 0600) so an expired token can be renewed. */
export interface Profile {
  endpoint: string;
  project_id: string;
  region: string;
  domain_name: string;
  user: string;
  password?: string;
  token: string;
  /** ISO time at which the token stops being accepted. */
  expires_at: string;
}

/** `<home>/config.json`. */
export interface ProfileFile {
  current: string;
  profiles: Record<string, Profile>;
}

export const DEFAULT_PROFILE = "default";

export function profilePath(home: string): string {
  return path.join(home, "config.json");
}

/** Reads the profile file; a missing file is an empty one. */
export async function loadProfiles(home: string): Promise<ProfileFile> {
  let text: string;
  try {
    text = await readFile(profilePath(home), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      return { current: DEFAULT_PROFILE, profiles: {} };
    }
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`${profilePath(home)} is not valid JSON; run \`fngraph login\` again`);
  }
  return parseProfileFile(parsed, profilePath(home));
}

function parseProfileFile(raw: unknown, where: string): ProfileFile {
  const bad = (): CliError =>
    new CliError(`${where} is not a fngraph profile file; run \`fngraph login\` again`);
  if (typeof raw !== "object" || raw === null) throw bad();
  const o = raw as { current?: unknown; profiles?: unknown };
  if (typeof o.profiles !== "object" || o.profiles === null) throw bad();
  const profiles: Record<string, Profile> = {};
  for (const [name, p] of Object.entries(o.profiles as Record<string, unknown>)) {
    if (typeof p !== "object" || p === null) throw bad();
    const r = p as Record<string, unknown>;
    const str = (k: string): string => (typeof r[k] === "string" ? r[k] : "");
    if (!str("endpoint") || !str("project_id")) throw bad();
    profiles[name] = {
      endpoint: str("endpoint"),
      project_id: str("project_id"),
      region: str("region"),
      domain_name: str("domain_name"),
      user: str("user"),
      ...(typeof r["password"] === "string" ? { password: r["password"] } : {}),
      token: str("token"),
      expires_at: str("expires_at"),
    };
  }
  return {
    current: typeof o.current === "string" && o.current !== "" ? o.current : DEFAULT_PROFILE,
    profiles,
  };
}

/** Writes atomically; the directory is 0700 and the file 0600 (it holds a token and password). */
export async function saveProfiles(home: string, file: ProfileFile): Promise<void> {
  await mkdir(home, { recursive: true, mode: 0o700 });
  const target = profilePath(home);
  const tmp = `${target}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(file, null, 2) + "\n", { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, target);
}

/** The named (or current) profile, or a clear "log in first". */
export function pickProfile(file: ProfileFile, name: string | undefined): [string, Profile] {
  const key = name ?? file.current;
  const p = file.profiles[key];
  if (!p) {
    const hint = key === DEFAULT_PROFILE ? "" : ` --profile ${key}`;
    throw new CliError(
      `not logged in${key === DEFAULT_PROFILE ? "" : ` (profile "${key}")`}: run \`fngraph login${hint}\``,
    );
  }
  return [key, p];
}
