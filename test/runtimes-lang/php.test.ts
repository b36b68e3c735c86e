import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../helpers/platform.js";
import { createFunction, fixtureWithModes, invoke, which } from "./helpers.js";

// PHP (PHP7.3 / PHP8.3 → Debian's php-cli): handler($event, $context).
const php = which("php");
let t: TestPlatform;

describe.skipIf(!php)("PHP runtime", () => {
  beforeAll(async () => {
    t = await startTestPlatform();
    await createFunction(t, "php-echo", "PHP8.3", fixtureWithModes("php-echo"), {
      user_data: JSON.stringify({ greeting: "salut" }),
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("calls handler($event, $context) with the context of contract §3.2", async () => {
    const r = await invoke(t, "php-echo", { a: [1, 2] }, { "X-Cff-Log-Type": "tail" });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({
      event: { a: [1, 2] },
      requestId: r.headers["x-cff-request-id"],
      name: "php-echo",
      greeting: "salut",
      env: "salut",
      memory: 128,
    });
    const log = Buffer.from(r.headers["x-cff-function-log"] ?? "", "base64").toString();
    expect(log).toContain("plain output");
    expect(log).toMatch(/Z [0-9a-f-]{36} INFO php handler called/);
  });

  it("a thrown exception is a 4002 function error", async () => {
    const r = await invoke(t, "php-echo", { fail: 1 });
    expect(r.headers["x-func-err-code"]).toBe("4002");
    expect(r.json).toMatchObject({
      errorType: "RuntimeException",
      errorMessage: "function invocation exception, error: asked to fail",
    });
  });

  it("a missing handler function is 4001", async () => {
    await createFunction(t, "php-nofn", "PHP7.3", fixtureWithModes("php-echo"), {
      handler: "index.nope",
    });
    const r = await invoke(t, "php-nofn", {});
    expect(r.headers["x-func-err-code"]).toBe("4001");
  });
});
