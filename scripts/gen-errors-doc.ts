// Writes docs/errors.md from the FsError catalogue (src/core/errors.ts). Run: npx tsx scripts/gen-errors-doc.ts
import { writeFileSync } from "node:fs";
import { ERRORS } from "../src/core/errors.js";

const rows = Object.entries(ERRORS).map(
  ([code, e]) => `| \`${code}\` | ${e.status} | \`${e.fss}\` | ${e.message} |`,
);
const doc = `# Error catalogue

Every API error leaves fngraph as \`{"error_code": "FSS.xxxx", "error_msg": "..."}\` with the HTTP
status below. \`code\` is the stable internal name (\`FsError.code\`) that tests assert on; it is
never reused. Several internal codes may share one FunctionGraph \`error_code\` where the contract
has one code for several situations (e.g. FSS.0429 for "too many requests" and "Function
Disabled"). \`error_msg\` defaults to the message shown here and usually carries more detail.

Generated from \`src/core/errors.ts\` by \`npx tsx scripts/gen-errors-doc.ts\`; a test fails when
this file and the catalogue disagree.

| code | HTTP | error_code | default message |
|---|---|---|---|
${rows.join("\n")}

## Function error codes (X-Func-Err-Code, v1 \`status\`, async records)

These are not HTTP errors: a sync call whose function failed answers HTTP 200 with
\`X-Is-Func-Err: true\` and the code below in \`X-Func-Err-Code\` and in the v1 body's \`status\`.

| code | meaning |
|---|---|
| 0 | success |
| 4001 | handler entry not found (module or export missing) |
| 4002 | the function failed (threw, rejected, called back with an error, raised) or its runtime exited |
| 4004 | response larger than 6 MB |
| 4007 | result cannot be serialised |
| 4009 | initializer failed |
| 4010 | invocation timed out (the instance is killed) |
| 4205 | runtime memory limit exceeded (the instance is discarded) |
| 4208 | invocation canceled |
| 4211 | initializer timed out |
`;
writeFileSync(new URL("../docs/errors.md", import.meta.url), doc);
