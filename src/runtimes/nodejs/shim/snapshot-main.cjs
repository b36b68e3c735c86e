"use strict";
// Entry of the Node startup snapshots (src/runtimes/nodejs/snapshots.ts), run once per heap
// limit by `node --max-old-space-size=N --build-snapshot`. The snapshot holds no fngraph code:
// only node's own start-up state and a code cache of its built-in modules made under the same
// V8 flags. Started with `--snapshot-blob`, node runs the script named on its command line as
// the main module, exactly as without the snapshot.
const v8 = require("v8");

v8.startupSnapshot.setDeserializeMainFunction(() => {
  // node resolves argv[1] itself before an ordinary start; a snapshot's main function must.
  if (process.argv[1]) process.argv[1] = require("path").resolve(process.argv[1]);
  require("module").runMain();
});
