import path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { action, type CliIo } from "../context.js";
import { CliError, isCliError } from "../errors.js";
import { field, formatBytes, toJsonText } from "../output.js";
import { createUploadProgress } from "../progress.js";
import { withSession } from "../session.js";
import { zipFolder } from "../zip.js";

interface DeployFlags {
  name: string;
  runtime: string;
  handler: string;
  package?: string;
  memory?: number;
  timeout?: number;
  env?: string[];
  description?: string;
}

const toInt =
  (label: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${label} must be a positive integer`);
    return n;
  };

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `fngraph fn deploy <dir>`: zip, then create the function or update its code and config. */
export function registerDeploy(fn: Command, io: CliIo): void {
  fn.command("deploy")
    .description("zip a folder and create the function, or update its code and config if it exists")
    .argument("<dir>", "folder holding the function code (zipped as is)")
    .requiredOption("--name <name>", "function name")
    .requiredOption("--runtime <runtime>", "runtime, e.g. Node.js20.15 or Python3.10")
    .requiredOption("--handler <handler>", "handler, e.g. index.handler")
    .option("--package <package>", "package (application) the function belongs to")
    .option(
      "--memory <mb>",
      "memory in MB (create default 128; update keeps the current)",
      toInt("--memory"),
    )
    .option(
      "--timeout <seconds>",
      "timeout in seconds (create default 3; update keeps the current)",
      toInt("--timeout"),
    )
    .option(
      "--env <K=V>",
      "environment variable, repeatable (on update, replaces all of them)",
      collect,
    )
    .option("--description <text>", "description")
    .option("--json", "print the function config returned by the API as JSON")
    .action(
      action(io, async (ctx, dir: string, flags: DeployFlags) => {
        const userData = toUserData(flags.env ?? []);
        const zip = await zipFolder(path.resolve(io.cwd, dir));
        const file = zip.toString("base64");
        const urn = flags.package ? `${flags.package}:${flags.name}` : flags.name;
        const config: Record<string, unknown> = {
          func_name: flags.name,
          runtime: flags.runtime,
          handler: flags.handler,
          ...(flags.memory !== undefined ? { memory_size: flags.memory } : {}),
          ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}),
          ...(userData !== undefined ? { user_data: userData } : {}),
          ...(flags.description !== undefined ? { description: flags.description } : {}),
        };
        const code = { code_type: "zip", code_filename: `${flags.name}.zip`, func_code: { file } };
        const progress = createUploadProgress(io.stderr, io.stderrIsTTY, file.length);

        const { result, created } = await withSession(ctx, async ({ api }) => {
          const existing = await api.findConfig(urn);
          if (!existing) {
            try {
              const body = { ...config, package: flags.package ?? "default", ...code };
              return { result: await api.create(body, progress), created: true };
            } catch (err) {
              // Created by someone else since the check: fall through to an update.
              if (!isCliError(err) || err.errorCode !== "FSS.1061") throw err;
            }
          }
          // The server checks new code against the current handler, so a new handler goes first;
          // otherwise the code goes first so a rejected package leaves the config untouched.
          const handlerChanges = existing !== undefined && existing["handler"] !== flags.handler;
          if (handlerChanges) await api.updateConfig(urn, config);
          await api.updateCode(urn, code, progress);
          if (!handlerChanges) await api.updateConfig(urn, config);
          return { result: await api.getConfig(urn), created: false };
        });

        if (ctx.json) {
          io.stdout(toJsonText(result));
          return;
        }
        io.stdout(
          `${created ? "created" : "updated"} ${field(result, "func_name")} ` +
            `(${field(result, "runtime")}, ${field(result, "handler")}, ${field(result, "memory_size")} MB, ` +
            `${field(result, "timeout")} s), code ${formatBytes(zip.length)}, ` +
            `digest ${field(result, "digest").slice(0, 12)}\n` +
            `urn ${field(result, "func_urn")}\n`,
        );
      }),
    );
}

/** `--env K=V` flags as the `user_data` JSON string; undefined when none are given. */
export function toUserData(pairs: readonly string[]): string | undefined {
  if (pairs.length === 0) return undefined;
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new CliError(`--env ${pair}: expected KEY=VALUE`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return JSON.stringify(env);
}
