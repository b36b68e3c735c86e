import type { Command } from "commander";
import { action, type CliIo } from "../context.js";
import { field, formatBytes, toJsonText, toKeyValue } from "../output.js";
import { withSession } from "../session.js";

/** `fngraph fn get <name>`: the config of `latest`. */
export function registerGet(fn: Command, io: CliIo): void {
  fn.command("get")
    .description("show a function's configuration")
    .argument("<name>", "function name, package:name, or URN")
    .option("--json", "print the API response as JSON")
    .action(
      action(io, async (ctx, name: string) => {
        const f = await withSession(ctx, ({ api }) => api.getConfig(name));
        if (ctx.json) {
          io.stdout(toJsonText(f));
          return;
        }
        io.stdout(
          toKeyValue([
            ["name", field(f, "func_name")],
            ["urn", field(f, "func_urn")],
            ["package", field(f, "package")],
            ["runtime", field(f, "runtime")],
            ["handler", field(f, "handler")],
            ["memory", `${field(f, "memory_size")} MB`],
            ["timeout", `${field(f, "timeout")} s`],
            ["code size", formatBytes(Number(f["code_size"]))],
            ["digest", field(f, "digest")],
            ["description", field(f, "description")],
            ["environment", toEnvText(field(f, "user_data"))],
            ["version", field(f, "version")],
            ["last modified", field(f, "last_modified")],
          ]),
        );
      }),
    );
}

/** `user_data` (a JSON object string) as `K=V, K=V`. */
function toEnvText(userData: string): string {
  try {
    const o = JSON.parse(userData || "{}") as Record<string, unknown>;
    return Object.entries(o)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(", ");
  } catch {
    return userData;
  }
}
