import { createProgram } from "./cli/program.js";
import { serve } from "./serve.js";

/** Process entry of the `fngraph` bin: wires the CLI to the server's `serve`. */
createProgram({ serve })
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`fngraph: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
