// `npm test`: runs Vitest (extra args pass through) and ends with the line CI reads:
// "N passed, N failed, N skipped", taken from Vitest's JSON report.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const report = path.join(root, ".tmp", "vitest-results.json");
const leaks = path.join(root, ".tmp", "test-leaks.txt"); // written by test/global-leaks.ts
mkdirSync(path.dirname(report), { recursive: true });
rmSync(report, { force: true });
rmSync(leaks, { force: true });

const vitest = path.join(root, "node_modules", "vitest", "vitest.mjs");
const r = spawnSync(
  process.execPath,
  [
    vitest,
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${report}`,
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: "inherit" },
);

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(report)) {
  const j = JSON.parse(readFileSync(report, "utf8"));
  passed = j.numPassedTests ?? 0;
  // A file that failed without a failing test (import error, hook failure) counts as one failure.
  const brokenFiles = (j.testResults ?? []).filter(
    (f) => f.status === "failed" && !(f.assertionResults ?? []).some((a) => a.status === "failed"),
  ).length;
  failed = (j.numFailedTests ?? 0) + brokenFiles;
  skipped = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
} else {
  failed = 1;
}
if (existsSync(leaks)) {
  process.stdout.write(readFileSync(leaks, "utf8"));
  failed += 1;
}
let code = r.status ?? 1;
if (code !== 0 && failed === 0) failed = 1;
// Vitest may exit 0 when its global teardown (the leak check) throws.
if (failed > 0 && code === 0) code = 1;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(code);
