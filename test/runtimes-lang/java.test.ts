import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBody, startTestPlatform, type TestPlatform } from "../helpers/platform.js";
import { FIXTURES, invoke, which } from "./helpers.js";

// Java (Java8/11/17 → the installed JDK): pkg.Class.method(event, Context), compiled here against
// the Context SDK JAR that scripts/build-java-runtime.mjs publishes.
const ROOT = path.join(import.meta.dirname, "..", "..");
const javac = which("javac");
const jar = which("jar");
let t: TestPlatform;
let work = "";

describe.skipIf(!javac || !jar || !which("java"))("Java runtime", () => {
  let functionJar: Buffer;
  beforeAll(async () => {
    const sdk = path.join(ROOT, "src", "runtimes", "java", "shim", "fngraph-java-sdk.jar");
    const b = spawnSync(process.execPath, [path.join(ROOT, "scripts", "build-java-runtime.mjs")]);
    if (b.status !== 0 || !existsSync(sdk)) throw new Error(`java build: ${String(b.stderr)}`);
    work = mkdtempSync(path.join(os.tmpdir(), "fngraph-java-test-"));
    const classes = path.join(work, "classes");
    mkdirSync(classes);
    const src = path.join(FIXTURES, "java-echo", "src", "com", "example", "Echo.java");
    const c = spawnSync(javac!, ["--release", "8", "-nowarn", "-cp", sdk, "-d", classes, src]);
    if (c.status !== 0) throw new Error(`javac: ${String(c.stderr)}`);
    const j = spawnSync(jar!, ["cf", path.join(work, "echo.jar"), "-C", classes, "."]);
    if (j.status !== 0) throw new Error(`jar: ${String(j.stderr)}`);
    functionJar = readFileSync(path.join(work, "echo.jar"));

    t = await startTestPlatform();
    const common = {
      memory_size: 256,
      timeout: 15,
      user_data: JSON.stringify({ greeting: "hej" }),
    };
    // A bare JAR (code_type jar) and a ZIP holding it in lib/.
    const bare = await t.api("POST", t.v2("/fgs/functions"), {
      ...(await createBody("java-echo", "Java17", {}, common)),
      handler: "com.example.Echo.handler",
      code_type: "jar",
      func_code: { file: functionJar.toString("base64") },
    });
    expect(bare.status, bare.text).toBe(200);
    const zipped = await t.api(
      "POST",
      t.v2("/fgs/functions"),
      await createBody(
        "java-raw",
        "Java8",
        { "lib/echo.jar": functionJar },
        {
          ...common,
          handler: "com.example.Echo.raw",
        },
      ),
    );
    expect(zipped.status, zipped.text).toBe(200);
  }, 90_000);
  afterAll(async () => {
    await t?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("binds the event to the handler's parameter type and passes a Context", async () => {
    const r = await invoke(
      t,
      "java-echo",
      { name: "duke", count: 21 },
      { "X-Cff-Log-Type": "tail" },
    );
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({
      hello: "duke",
      twice: 42,
      requestId: r.headers["x-cff-request-id"],
      function: "java-echo",
      greeting: "hej",
      env: "hej",
      memory: 256,
      remainingPositive: true,
    });
    const log = Buffer.from(r.headers["x-cff-function-log"] ?? "", "base64").toString();
    expect(log).toMatch(/Z [0-9a-f-]{36} INFO java handler called for duke/);
  });

  it("a String handler in a JAR under lib/ gets the raw event", async () => {
    const r = await invoke(t, "java-raw", { x: 1 });
    expect(r.text).toBe('raw:{"x":1}');
  });

  it("an exception is a 4002 function error with the Java class name", async () => {
    const r = await invoke(t, "java-echo", { fail: true });
    expect(r.headers["x-func-err-code"]).toBe("4002");
    expect(r.json).toMatchObject({
      errorType: "java.lang.IllegalStateException",
      errorMessage: "function invocation exception, error: asked to fail",
    });
  });

  it("refuses a package without a JAR or the handler's class", async () => {
    const r = await t.api(
      "POST",
      t.v2("/fgs/functions"),
      await createBody(
        "java-empty",
        "Java11",
        { "readme.txt": "x" },
        {
          handler: "com.example.Echo.handler",
        },
      ),
    );
    expect(r.status).toBe(400);
    expect((r.json as { error_code: string }).error_code).toBe("FSS.1003");
  });
});
