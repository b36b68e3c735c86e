import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { action, cliHome, type CliIo } from "../context.js";
import { CliError } from "../errors.js";
import { toJsonText } from "../output.js";
import { profilePath } from "../profile.js";
import { login, type LoginInput } from "../session.js";

interface LoginFlags {
  credentials?: string;
  endpoint?: string;
  user?: string;
  password?: string;
  domain?: string;
  projectId?: string;
  region?: string;
}

/** The fields of `<data>/credentials.json` that a login uses. */
interface CredentialsFile {
  endpoint?: string;
  user?: string;
  password?: string;
  domain_name?: string;
  project_id?: string;
  region?: string;
}

/** `fngraph login`: token from credentials.json and/or flags, saved as a profile. */
export function registerLogin(program: Command, io: CliIo): void {
  program
    .command("login")
    .description(
      "obtain a token and save it as a profile (credentials.json written by `fngraph serve`, or flags)",
    )
    .option(
      "--credentials <file>",
      "credentials.json to read (default: $FNGRAPH_DATA_DIR or ./data, /credentials.json)",
    )
    .option("--endpoint <url>", "API endpoint, e.g. http://127.0.0.1:8080")
    .option("--user <name>", "user name")
    .option("--password <password>", "password")
    .option("--domain <name>", "account (domain) name")
    .option("--project-id <id>", "project id (default: the project named after the region)")
    .option("--region <name>", "region (project name)")
    .option("--json", "print the token response as JSON")
    .action(
      action(io, async (ctx, flags: LoginFlags) => {
        const input = await toLoginInput(io, flags);
        const { name, profile, grant } = await login(ctx, input);
        if (ctx.json) {
          io.stdout(toJsonText(grant.body));
          return;
        }
        io.stdout(
          `logged in to ${profile.endpoint} as ${profile.user} (project ${profile.project_id}, region ${profile.region})\n` +
            `token valid until ${profile.expires_at}; profile "${name}" saved in ${profilePath(cliHome(io))}\n`,
        );
      }),
    );
}

async function toLoginInput(io: CliIo, flags: LoginFlags): Promise<LoginInput> {
  const haveFlags = Boolean(flags.endpoint && flags.user && flags.password && flags.domain);
  const dataDir = io.env["FNGRAPH_DATA_DIR"] || "./data";
  const file = flags.credentials ?? path.join(dataDir, "credentials.json");
  const fromFile = await readCredentials(
    path.resolve(io.cwd, file),
    flags.credentials !== undefined || !haveFlags,
  );
  const input = {
    endpoint: flags.endpoint ?? fromFile.endpoint,
    user: flags.user ?? fromFile.user,
    password: flags.password ?? fromFile.password,
    domain: flags.domain ?? fromFile.domain_name,
    projectId: flags.projectId ?? fromFile.project_id,
    region: flags.region ?? fromFile.region,
  };
  const missing = (["endpoint", "user", "password", "domain"] as const).filter((k) => !input[k]);
  if (missing.length > 0) {
    throw new CliError(`missing ${missing.map((m) => `--${m}`).join(", ")} (and not in ${file})`);
  }
  return {
    endpoint: input.endpoint!,
    user: input.user!,
    password: input.password!,
    domain: input.domain!,
    ...(input.projectId ? { projectId: input.projectId } : {}),
    ...(input.region ? { region: input.region } : {}),
  };
}

async function readCredentials(file: string, required: boolean): Promise<CredentialsFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if (!required) return {};
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : "unreadable";
    throw new CliError(
      `${file} ${why}: start the server (\`fngraph serve\` writes <data>/credentials.json), ` +
        "pass --credentials <file>, or give --endpoint, --user, --password and --domain",
    );
  }
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    const str = (k: string): string | undefined => (typeof o[k] === "string" ? o[k] : undefined);
    return {
      endpoint: str("endpoint"),
      user: str("user"),
      password: str("password"),
      domain_name: str("domain_name"),
      project_id: str("project_id"),
      region: str("region"),
    };
  } catch {
    throw new CliError(`${file} is not valid JSON`);
  }
}
