#!/usr/bin/env node
// The package's command. Runs the compiled CLI; `npm install` builds dist/.
import("../dist/entry.js").catch((err) => {
  process.stderr.write(
    `fngraph: cannot start (${String(err && err.message)}). Run "npm install" (it builds dist/).\n`,
  );
  process.exit(1);
});
