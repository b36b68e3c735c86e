import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, zipFiles, type TestPlatform } from "../helpers/platform.js";
import { createFunction, fixtureWithModes, invoke } from "./helpers.js";

// Custom runtime (contract §3.8): a bash bootstrap speaking the runtime API over /dev/tcp.
let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
  await createFunction(t, "custom-bash", "Custom", fixtureWithModes("custom-bash"), {
    handler: "bootstrap",
    user_data: JSON.stringify({ greeting: "moin" }),
  });
  await createFunction(t, "custom-exit", "Custom", fixtureWithModes("custom-exit"), {
    handler: "bootstrap",
  });
});
afterAll(async () => {
  await t.close();
});

describe("Custom runtime", () => {
  it("runs the bootstrap in the sandbox and relays an invocation through the runtime API", async () => {
    expect(t.platform.isolation.tier).toBe("A");
    const r = await invoke(t, "custom-bash", { a: 1 });
    expect(r.status).toBe(200);
    const body = r.json as Record<string, unknown>;
    expect(body).toMatchObject({
      echo: { a: 1 },
      invokeType: "sync",
      fn: "custom-bash",
      greeting: "moin",
      uid: 1003,
      tmp: "yes",
      codeReadOnly: "yes",
      cwd: "/opt/function/code",
    });
    expect(body["requestId"]).toBe(r.headers["x-cff-request-id"]);
    const second = await invoke(t, "custom-bash", { b: 2 }, { "X-Cff-Log-Type": "tail" });
    expect(second.json).toMatchObject({ echo: { b: 2 } });
    const log = Buffer.from(second.headers["x-cff-function-log"] ?? "", "base64").toString();
    expect(log).toContain(`handled ${second.headers["x-cff-request-id"]}`);
  });

  it("an error POSTed by the bootstrap is the function error", async () => {
    const r = await invoke(t, "custom-bash", { fail: true });
    expect(r.headers["x-is-func-err"]).toBe("true");
    expect(r.headers["x-func-err-code"]).toBe("4002");
    expect(r.json).toMatchObject({ errorType: "BashError", errorMessage: "asked to fail" });
  });

  it("a bootstrap that exits before it asks for an event fails the call with 4001", async () => {
    const r = await invoke(t, "custom-exit", {});
    expect(r.headers["x-func-err-code"]).toBe("4001");
    expect((r.json as { errorMessage: string }).errorMessage).toMatch(/bootstrap exited/);
  });

  it("refuses a package without bootstrap, or with one that is not executable", async () => {
    const body = async (files: Record<string, string>) => ({
      func_name: "custom-bad",
      package: "default",
      runtime: "Custom",
      handler: "bootstrap",
      memory_size: 128,
      timeout: 3,
      code_type: "zip",
      func_code: { file: (await zipFiles(files)).toString("base64") },
    });
    const missing = await t.api("POST", t.v2("/fgs/functions"), await body({ "run.sh*": "x" }));
    expect(missing.status).toBe(400);
    expect((missing.json as { error_code: string }).error_code).toBe("FSS.1003");
    const plain = await t.api(
      "POST",
      t.v2("/fgs/functions"),
      await body({ bootstrap: "#!/bin/sh" }),
    );
    expect(plain.status).toBe(400);
    expect((plain.json as { error_code: string }).error_code).toBe("FSS.1011");
  });

  it.each(["C#(.NET Core 3.1)", "Cangjie1.0", "Custom Image"])(
    "refuses %s (not offered here) with FSS.1005 naming what is installed",
    async (runtime) => {
      const r = await t.api("POST", t.v2("/fgs/functions"), {
        func_name: "not-here",
        runtime,
        handler: "index.handler",
        code_type: "inline",
      });
      expect(r.status).toBe(400);
      const j = r.json as { error_code: string; error_msg: string };
      expect(j.error_code).toBe("FSS.1005");
      // The feature is the list itself: the installed runtimes are named.
      expect(j.error_msg).toContain("Custom, http");
    },
  );
});
