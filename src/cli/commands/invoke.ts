import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { action, type CliIo } from "../context.js";
import { CliError } from "../errors.js";
import { toJsonText, toText } from "../output.js";
import { withSession } from "../session.js";

interface InvokeFlags {
  data?: string;
  log?: boolean;
}

/** `fngraph invoke <name>`: synchronous invocation, response version v1. */
export function registerInvoke(program: Command, io: CliIo): void {
  program
    .command("invoke")
    .description("invoke a function synchronously and print its result")
    .argument("<name>", "function name, package:name, or URN (qualified URNs pick a version)")
    .option("--data <json|@file>", "event as JSON text, or @path of a JSON file (default {})")
    .option("--log", "print the tail of the execution log to stderr")
    .option("--json", "print the v1 response envelope as JSON")
    .action(
      action(io, async (ctx, name: string, flags: InvokeFlags) => {
        const event = await loadEvent(io, flags.data);
        const { headers, body } = await withSession(ctx, ({ api }) =>
          api.invoke(name, event, { logTail: flags.log === true }),
        );
        if (flags.log) {
          const tail = headers["x-cff-function-log"];
          const log = tail
            ? Buffer.from(tail, "base64").toString("utf8")
            : typeof body["log"] === "string"
              ? body["log"]
              : "";
          if (log) io.stderr(log.endsWith("\n") ? log : `${log}\n`);
        }
        if (ctx.json) {
          io.stdout(toJsonText(body));
        } else {
          const result =
            typeof body["result"] === "string"
              ? body["result"]
              : JSON.stringify(body["result"] ?? "");
          io.stdout(result.endsWith("\n") ? result : `${result}\n`);
        }
        const isFuncErr = headers["x-is-func-err"] === "true";
        const status = body["status"];
        if (isFuncErr || (status !== undefined && status !== 200)) {
          const code = headers["x-func-err-code"] ?? String(status);
          throw new CliError(
            `${isFuncErr ? "the function failed" : "the invocation failed"} (code ${code}, request ${toText(body["request_id"] ?? headers["x-cff-request-id"])})`,
          );
        }
      }),
    );
}

/** `--data`: JSON text, or `@file`; checked to be JSON before it is sent. */
async function loadEvent(io: CliIo, data: string | undefined): Promise<string> {
  if (data === undefined) return "{}";
  let text = data;
  let from = "--data";
  if (data.startsWith("@")) {
    const file = path.resolve(io.cwd, data.slice(1));
    from = file;
    try {
      text = await readFile(file, "utf8");
    } catch {
      throw new CliError(`cannot read ${file}`);
    }
  }
  try {
    JSON.parse(text);
  } catch {
    throw new CliError(`${from} is not valid JSON`);
  }
  return text;
}
