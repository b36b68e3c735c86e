import type { Command } from "commander";
import { action, type CliIo } from "../context.js";
import { field, formatBytes, toJsonText, toTable } from "../output.js";
import { withSession } from "../session.js";

/** `fngraph fn list`: every function of the project (all pages). */
export function registerList(fn: Command, io: CliIo): void {
  fn.command("list")
    .description("list the functions of the project")
    .option("--json", "print the API response as JSON")
    .action(
      action(io, async (ctx) => {
        const pages = await withSession(ctx, async ({ api }) => {
          const out: Record<string, unknown>[] = [];
          let marker = 0;
          for (;;) {
            const page = await api.list(marker);
            out.push(page);
            const got = Array.isArray(page["functions"]) ? page["functions"].length : 0;
            const next = Number(page["next_marker"]);
            const count = Number(page["count"]);
            if (got === 0 || !Number.isFinite(next) || next <= marker || next >= count) break;
            marker = next;
          }
          return out;
        });
        const functions = pages.flatMap(
          (p) => (Array.isArray(p["functions"]) ? p["functions"] : []) as Record<string, unknown>[],
        );
        if (ctx.json) {
          const last = pages[pages.length - 1] ?? {};
          io.stdout(toJsonText(pages.length === 1 ? pages[0] : { ...last, functions }));
          return;
        }
        if (functions.length === 0) {
          io.stdout("no functions\n");
          return;
        }
        io.stdout(
          toTable(
            ["NAME", "PACKAGE", "RUNTIME", "HANDLER", "MEMORY", "TIMEOUT", "CODE", "LAST MODIFIED"],
            functions.map((f) => [
              field(f, "func_name"),
              field(f, "package"),
              field(f, "runtime"),
              field(f, "handler"),
              `${field(f, "memory_size")} MB`,
              `${field(f, "timeout")} s`,
              formatBytes(Number(f["code_size"])),
              field(f, "last_modified"),
            ]),
          ),
        );
      }),
    );
}
