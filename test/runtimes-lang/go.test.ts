import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../helpers/platform.js";
import { createFunction, FIXTURES, invoke, which } from "./helpers.js";

// Go1.x through the custom-runtime path: a static `bootstrap` built with `go build`.
const ROOT = path.join(import.meta.dirname, "..", "..");
const go = which("go");
let t: TestPlatform;

describe.skipIf(!go)("Go runtime", () => {
  beforeAll(async () => {
    const out = path.join(ROOT, ".tmp", "go-echo");
    mkdirSync(out, { recursive: true });
    const b = spawnSync(go!, ["build", "-o", path.join(out, "bootstrap"), "main.go"], {
      cwd: path.join(FIXTURES, "go-echo"),
      env: {
        ...process.env,
        CGO_ENABLED: "0",
        GO111MODULE: "off",
        GOCACHE: path.join(ROOT, ".tmp", "go-cache"),
        GOFLAGS: "-trimpath",
      },
      encoding: "utf8",
    });
    if (b.status !== 0) throw new Error(`go build: ${b.stderr}`);
    t = await startTestPlatform();
    await createFunction(
      t,
      "go-echo",
      "Go1.x",
      {
        "bootstrap*": readFileSync(path.join(out, "bootstrap")),
      },
      { handler: "bootstrap" },
    );
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it("runs a Go bootstrap binary against the runtime API", async () => {
    const r = await invoke(t, "go-echo", { hello: "gopher" });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({
      event: { hello: "gopher" },
      requestId: r.headers["x-cff-request-id"],
      function: "go-echo",
      lang: "go",
    });
  });
});
