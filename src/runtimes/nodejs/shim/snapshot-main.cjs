"use strict";
// Entry of the Node startup snapshots (src/runtimes/nodejs/snapshots.ts), run once per heap
// limit by `node --max-old-space-size=N --build-snapshot`. The snapshot holds no fngraph code:
// only node's own start-up state and a code cache of its built-in modules made under the same
// V8 flags. Started with `--snapshot-blob`, node runs the script named on its command line as
// the main module, exactly as without the snapshot.
const v8 = require("v8");

v8.startupSnapshot.setDeserializeMainFunction(() => {
  const path = require("path");
  if (process.argv[1]) {
    // node resolves argv[1] itself before an ordinary start; a snapshot's main function must.
    process.argv[1] = path.resolve(process.argv[1]);
    require("module").runMain();
    return;
  }
  // A child that copied process.execArgv (the blob with it) and then runs -e / -p code.
  if (typeof process._eval === "string") {
    const filename = path.join(process.cwd(), "[eval]");
    globalThis.require = require("module").createRequire(filename);
    globalThis.__filename = "[eval]";
    globalThis.__dirname = ".";
    const result = require("vm").runInThisContext(process._eval, { filename: "[eval]" });
    if (process._print_eval) console.log(result);
    return;
  }
  process.stderr.write("node: a start from a startup snapshot needs a script or -e\n");
  process.exitCode = 9;
});
