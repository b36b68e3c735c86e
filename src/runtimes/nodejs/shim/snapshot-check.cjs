"use strict";
// Run from a freshly built Node startup snapshot before it is used: it must start this file as
// the main module with the heap limit it was built for (snapshots.ts).
const limitMb = require("v8").getHeapStatistics().heap_size_limit / 1048576;
process.stdout.write(JSON.stringify({ main: require.main === module, limitMb }));
