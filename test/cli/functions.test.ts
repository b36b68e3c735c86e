import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCliHarness, type CliHarness } from "./helpers.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

let h: CliHarness;
let nodeDir: string;
let pyDir: string;

const NODE_V1 = `exports.handler = async (event, context) => {
  console.log("node got", JSON.stringify(event));
  return { lang: "node", version: 1, event, greeting: process.env.GREETING ?? null };
};
`;
const NODE_V2 = `exports.handler = async (event) => ({ lang: "node", version: 2, event });
exports.other = async () => "other handler";
`;
const PY = `import os

def handler(event, context):
    print("py got", event)
    return {"lang": "python", "event": event, "greeting": os.environ.get("GREETING")}
`;

beforeAll(async () => {
  h = await createCliHarness();
  const login = await h.cli(["login", "--credentials", h.credentialsFile]);
  expect(login.code).toBe(0);
  nodeDir = await h.folder("hello-node", {
    "index.js": NODE_V1,
    "lib/util.js": "module.exports = 1;\n",
  });
  pyDir = await h.folder("hello-py", { "index.py": PY });
});
afterAll(async () => {
  await h?.close();
});

const deployNode = (dir: string, extra: string[] = []) =>
  h.cli([
    "fn",
    "deploy",
    dir,
    "--name",
    "hello-node",
    "--runtime",
    "Node.js20.15",
    "--handler",
    "index.handler",
    ...extra,
  ]);

describe("fn deploy and invoke", () => {
  it("deploys a Node.js folder", async () => {
    const r = await deployNode(nodeDir, [
      "--env",
      "GREETING=hi",
      "--description",
      "first",
      "--json",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const model = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(model["func_name"]).toBe("hello-node");
    expect(model["runtime"]).toBe("Node.js20.15");
    expect(model["description"]).toBe("first");
    expect(JSON.parse(model["user_data"] as string)).toEqual({ GREETING: "hi" });
  });

  it("deploys a Python folder", async () => {
    const r = await h.cli([
      "fn",
      "deploy",
      pyDir,
      "--name",
      "hello-py",
      "--runtime",
      "Python3.10",
      "--handler",
      "index.handler",
      "--memory",
      "256",
      "--timeout",
      "10",
      "--env",
      "GREETING=hallo",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^created hello-py \(Python3\.10, index\.handler, 256 MB, 10 s\)/);
  });

  it("invokes with --data JSON", async () => {
    const r = await h.cli(["invoke", "hello-node", "--data", '{"n":1}']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      lang: "node",
      version: 1,
      event: { n: 1 },
      greeting: "hi",
    });
    expect(r.stderr).toBe("");
  });

  it("invokes with --data @file and prints the log tail with --log", async () => {
    const file = path.join(h.root, "event.json");
    await writeFile(file, JSON.stringify({ from: "file" }));
    const r = await h.cli(["invoke", "hello-py", "--data", "@event.json", "--log"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      lang: "python",
      event: { from: "file" },
      greeting: "hallo",
    });
    expect(r.stderr).toContain("py got");
    expect(r.stderr).toContain("Finish invoke request");
  });

  it("--json prints the v1 envelope", async () => {
    const r = await h.cli(["invoke", "hello-node", "--json", "--log"]);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as { request_id: string; result: string; status: number };
    expect(body.status).toBe(200);
    expect(typeof body.request_id).toBe("string");
    expect(JSON.parse(body.result)).toMatchObject({ version: 1, event: {} });
    expect(r.stderr).toContain("node got {}");
  });

  it("rejects --data that is not JSON before calling the API", async () => {
    const r = await h.cli(["invoke", "hello-node", "--data", "{nope"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("not valid JSON");
  });

  it("redeploying changes behaviour (code, handler, config)", async () => {
    await writeFile(path.join(nodeDir, "index.js"), NODE_V2);
    const r = await deployNode(nodeDir, ["--memory", "512"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^updated hello-node .*512 MB/);
    const inv = await h.cli(["invoke", "hello-node", "--data", '{"n":2}']);
    expect(JSON.parse(inv.stdout)).toEqual({ lang: "node", version: 2, event: { n: 2 } });

    // A new handler together with new code.
    await writeFile(path.join(nodeDir, "main.js"), 'exports.run = async () => "from main";\n');
    const moved = await h.cli([
      "fn",
      "deploy",
      nodeDir,
      "--name",
      "hello-node",
      "--runtime",
      "Node.js20.15",
      "--handler",
      "main.run",
    ]);
    expect(moved.stderr).toBe("");
    expect(moved.code).toBe(0);
    expect((await h.cli(["invoke", "hello-node"])).stdout).toBe("from main\n");
    // Config not given on the command line is kept.
    const got = JSON.parse((await h.cli(["fn", "get", "hello-node", "--json"])).stdout) as Record<
      string,
      unknown
    >;
    expect(got["memory_size"]).toBe(512);
    expect(JSON.parse(got["user_data"] as string)).toEqual({ GREETING: "hi" });
  });

  it("a function that throws exits 1", async () => {
    const dir = await h.folder("thrower", {
      "index.js": 'exports.handler = async () => { throw new Error("boom on purpose"); };\n',
    });
    const d = await h.cli([
      "fn",
      "deploy",
      dir,
      "--name",
      "thrower",
      "--runtime",
      "Node.js20.15",
      "--handler",
      "index.handler",
    ]);
    expect(d.code).toBe(0);
    const r = await h.cli(["invoke", "thrower"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("boom on purpose");
    expect(r.stderr).toContain("the function failed");
  });

  it("API errors print the FunctionGraph code and exit nonzero", async () => {
    const missing = await h.cli(["invoke", "no-such-fn"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error FSS\.1051: /);
    const badRuntime = await h.cli([
      "fn",
      "deploy",
      pyDir,
      "--name",
      "bad",
      "--runtime",
      "Cobol1.0",
      "--handler",
      "index.handler",
    ]);
    expect(badRuntime.code).toBe(1);
    expect(badRuntime.stderr).toMatch(/^error FSS\.1005: /);
    const badHandler = await h.cli([
      "fn",
      "deploy",
      pyDir,
      "--name",
      "bad",
      "--runtime",
      "Python3.10",
      "--handler",
      "nothere.handler",
    ]);
    expect(badHandler.code).toBe(1);
    expect(badHandler.stderr).toMatch(/^error FSS\.\d{4}: /);
  });

  it("shows a progress bar on a terminal for uploads over 1 MB, and none otherwise", async () => {
    const dir = await h.folder("big", {
      "index.js": NODE_V2,
      "blob.bin": randomBytes(1536 * 1024),
    });
    const args = [
      "fn",
      "deploy",
      dir,
      "--name",
      "big",
      "--runtime",
      "Node.js20.15",
      "--handler",
      "index.handler",
    ];
    const tty = await h.cli(args, { tty: true });
    expect(tty.code).toBe(0);
    expect(tty.stderr).toMatch(/uploading \[#+\] +100%/);
    expect(tty.stderr.split("\r").length).toBeGreaterThan(5);
    const pipe = await h.cli(args);
    expect(pipe.code).toBe(0);
    expect(pipe.stderr).toBe("");
    const small = await deployNode(nodeDir, []);
    expect(small.stderr).toBe("");
  });
});

describe("fn list, get, delete", () => {
  it("lists as an aligned table and as JSON", async () => {
    const human = await h.cli(["fn", "list"]);
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+PACKAGE\s+RUNTIME\s+HANDLER\s+MEMORY/);
    const col = lines[0]!.indexOf("RUNTIME");
    const rows = lines.slice(1);
    expect(rows.map((l) => l.split(/\s+/)[0]).sort()).toEqual([
      "big",
      "hello-node",
      "hello-py",
      "thrower",
    ]);
    for (const row of rows) expect(row.slice(col)).toMatch(/^(Node\.js20\.15|Python3\.10)/);

    const json = await h.cli(["fn", "list", "--json"]);
    const body = JSON.parse(json.stdout) as { functions: { func_name: string }[]; count: number };
    expect(body.count).toBe(4);
    expect(body.functions.map((f) => f.func_name).sort()).toEqual([
      "big",
      "hello-node",
      "hello-py",
      "thrower",
    ]);
  });

  it("gets as key: value and as JSON", async () => {
    const human = await h.cli(["fn", "get", "hello-py"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^name: +hello-py$/m);
    expect(human.stdout).toMatch(/^runtime: +Python3\.10$/m);
    expect(human.stdout).toMatch(/^memory: +256 MB$/m);
    expect(human.stdout).toMatch(/^environment: +GREETING=hallo$/m);
    const json = JSON.parse((await h.cli(["fn", "get", "hello-py", "--json"])).stdout) as Record<
      string,
      unknown
    >;
    expect(json["func_urn"]).toMatch(/:function:default:hello-py:latest$/);
  });

  it("deletes (human and --json), then the function is gone", async () => {
    const a = await h.cli(["fn", "delete", "big"]);
    expect(a).toMatchObject({ code: 0, stdout: "deleted big\n" });
    const b = await h.cli(["fn", "delete", "thrower", "--json"]);
    expect(b.code).toBe(0);
    expect(JSON.parse(b.stdout)).toEqual({ deleted: "thrower" });
    const gone = await h.cli(["fn", "get", "big"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^error FSS\.1051: /);
    const again = await h.cli(["fn", "delete", "big"]);
    expect(again.code).toBe(1);
  });
});

describe("as a child process", () => {
  it("runs `node --import tsx src/entry.ts` against the server with the same profile", async () => {
    const run = promisify(execFile);
    const env = { ...process.env, FNGRAPH_CLI_HOME: h.home, HOME: h.root };
    const list = await run(
      process.execPath,
      ["--import", "tsx", "src/entry.ts", "fn", "list", "--json"],
      {
        cwd: repoRoot,
        env,
      },
    );
    const body = JSON.parse(list.stdout) as { functions: { func_name: string }[] };
    expect(body.functions.map((f) => f.func_name).sort()).toEqual(["hello-node", "hello-py"]);

    const inv = await run(
      process.execPath,
      ["--import", "tsx", "src/entry.ts", "invoke", "hello-py", "--data", '{"x":1}'],
      {
        cwd: repoRoot,
        env,
      },
    );
    expect(JSON.parse(inv.stdout)).toMatchObject({ lang: "python", event: { x: 1 } });

    const failed = await run(
      process.execPath,
      ["--import", "tsx", "src/entry.ts", "invoke", "gone"],
      {
        cwd: repoRoot,
        env,
      },
    ).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/^error FSS\.1051: /);
  });
});
