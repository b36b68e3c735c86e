import type { Command } from "commander";
import { action, type CliIo } from "../context.js";
import { toJsonText } from "../output.js";
import { withSession } from "../session.js";

/** `fngraph fn delete <name>`: the function with all its versions. */
export function registerDelete(fn: Command, io: CliIo): void {
  fn.command("delete")
    .description("delete a function (all versions), or one version given as a qualified URN")
    .argument("<name>", "function name, package:name, or URN")
    .option("--json", 'print {"deleted": "<name>"} (the API answers 204 with no body)')
    .action(
      action(io, async (ctx, name: string) => {
        await withSession(ctx, ({ api }) => api.remove(name));
        io.stdout(ctx.json ? toJsonText({ deleted: name }) : `deleted ${name}\n`);
      }),
    );
}
