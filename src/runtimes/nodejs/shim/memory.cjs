"use strict";
// Part of the fngraph Node.js runtime shim (runtime.cjs). Runs INSIDE the sandbox.

const v8 = require("v8");
function heapKb() {
  const h = v8.getHeapStatistics();
  return (h.total_heap_size + h.external_memory) / 1024;
}

// Peak RSS since the last clear_refs write (the kernel resets the high-water mark getrusage reads).
function maxRssKb() {
  return process.resourceUsage().maxRSS;
}

// Garbage a call leaves behind (Buffers above all) stays until V8 feels heap pressure, which
// external memory rarely causes, so the next call's peak (the cgroup's figure, reset before it)
// would still include it. After a call that grew the RSS by at least GC_GROWTH_KB, collect
// before replying and give V8's background sweeper up to GC_WAIT_MS to return the freed backing
// stores to the kernel. Small calls pay nothing. The wait covers one CFS period (100 ms): a call
// that used up the instance's CPU quota leaves the sweeper thread throttled until the next one
// (30 ms let a 60 MB call's leftovers into the next call's peak in 2 of 6 loaded CI runs).
const GC_GROWTH_KB = 32 * 1024;
const RSS_CHECK_MIN_MS = 1;
const GC_WAIT_MS = 120;
let collectGarbage;
async function releaseGarbage(baseKb) {
  if (collectGarbage === undefined) {
    try {
      // A gc function in a separate context: user code keeps its global scope without `gc`.
      require("v8").setFlagsFromString("--expose-gc");
      collectGarbage = require("vm").runInNewContext("gc");
    } catch {
      collectGarbage = null;
    }
  }
  if (!collectGarbage) return;
  collectGarbage();
  const target = (baseKb + GC_GROWTH_KB / 2) * 1024;
  const until = performance.now() + GC_WAIT_MS;
  while (process.memoryUsage.rss() > target && performance.now() < until) {
    await new Promise((r) => setTimeout(r, 2));
  }
}

module.exports = { GC_GROWTH_KB, RSS_CHECK_MIN_MS, heapKb, maxRssKb, releaseGarbage };
