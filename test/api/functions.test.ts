import { readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import yauzl from "yauzl";
import {
  createBody,
  hostileZip,
  NODE_ECHO,
  PY_ECHO,
  startTestPlatform,
  zipFiles,
  type TestPlatform,
} from "../helpers/platform.js";

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t.close();
});

const errorCode = (json: unknown): string => (json as { error_code: string }).error_code;

describe("function lifecycle over HTTP with a token", () => {
  it("creates a Node.js function and returns the function model", async () => {
    const r = await t.api(
      "POST",
      t.v2("/fgs/functions"),
      await createBody("life-node", "Node.js20.15", NODE_ECHO),
    );
    expect(r.status).toBe(200);
    const m = r.json as Record<string, unknown>;
    expect(m["func_name"]).toBe("life-node");
    expect(m["func_urn"]).toBe(`urn:fss:local-1:${t.projectId}:function:default:life-node:latest`);
    expect(m["runtime"]).toBe("Node.js20.15");
    expect(m["memory_size"]).toBe(128);
    expect(m["cpu"]).toBe(300);
    expect(m["version"]).toBe("latest");
    expect(m["digest"]).toMatch(/^[0-9a-f]{128}$/);
    expect(m["code_size"]).toBeGreaterThan(0);
    expect(m["strategy_config"]).toEqual({ concurrency: 400, concurrent_num: 1 });
  });

  it("rejects a duplicate name with 409 FSS.1061", async () => {
    const r = await t.api(
      "POST",
      t.v2("/fgs/functions"),
      await createBody("life-node", "Node.js20.15", NODE_ECHO),
    );
    expect(r.status).toBe(409);
    expect(errorCode(r.json)).toBe("FSS.1061");
  });

  it("shows config and code through every URN form", async () => {
    const forms = [
      "life-node",
      "default:life-node",
      `${t.projectId}:default:life-node`,
      `${t.projectId}:default:life-node:latest`,
      `urn:fss:local-1:${t.projectId}:function:default:life-node`,
      `urn:fss:local-1:${t.projectId}:function:default:life-node:latest`,
      encodeURIComponent(`urn:fss:local-1:${t.projectId}:function:default:life-node:latest`),
    ];
    for (const urn of forms) {
      const r = await t.api("GET", t.v2(`/fgs/functions/${urn}/config`));
      expect(r.status, urn).toBe(200);
      expect((r.json as { func_name: string }).func_name).toBe("life-node");
    }
    const code = await t.api("GET", t.v2("/fgs/functions/life-node/code"));
    expect(code.status).toBe(200);
    expect(code.json).toMatchObject({
      func_name: "life-node",
      code_type: "zip",
      func_code: { file: "", link: "" },
    });
  });

  it("answers 404 FSS.1051 for an unknown function and 404 FSS.1052 for an unknown version", async () => {
    const a = await t.api("GET", t.v2("/fgs/functions/nope/config"));
    expect(a.status).toBe(404);
    expect(errorCode(a.json)).toBe("FSS.1051");
    const b = await t.api("GET", t.v2(`/fgs/functions/${t.projectId}:default:life-node:v9/code`));
    expect(b.status).toBe(404);
    expect(errorCode(b.json)).toBe("FSS.1052");
  });

  it("updates config, keeping name and runtime fixed", async () => {
    const r = await t.api("PUT", t.v2("/fgs/functions/life-node/config"), {
      func_name: "life-node",
      runtime: "Node.js20.15",
      handler: "index.handler",
      memory_size: 256,
      timeout: 30,
      description: "updated",
      user_data: JSON.stringify({ GREETING: "hi" }),
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      memory_size: 256,
      timeout: 30,
      description: "updated",
      user_data: '{"GREETING":"hi"}',
      cpu: 400,
    });
    const rename = await t.api("PUT", t.v2("/fgs/functions/life-node/config"), {
      func_name: "other",
      timeout: 3,
      handler: "index.handler",
      memory_size: 128,
    });
    expect(rename.status).toBe(400);
    expect(errorCode(rename.json)).toBe("FSS.1002");
    const runtime = await t.api("PUT", t.v2("/fgs/functions/life-node/config"), {
      runtime: "Python3.10",
    });
    expect(runtime.status).toBe(400);
    expect(errorCode(runtime.json)).toBe("FSS.1005");
  });

  it("updates code and changes the digest", async () => {
    const before = (await t.api("GET", t.v2("/fgs/functions/life-node/code"))).json as {
      digest: string;
    };
    const zip = await zipFiles({ "index.js": "exports.handler = async () => 'v2';" });
    const r = await t.api("PUT", t.v2("/fgs/functions/life-node/code"), {
      code_type: "zip",
      code_filename: "c.zip",
      func_code: { file: zip.toString("base64") },
    });
    expect(r.status).toBe(200);
    expect((r.json as { digest: string }).digest).not.toBe(before.digest);
  });

  it("creates a Python function", async () => {
    const r = await t.api(
      "POST",
      t.v2("/fgs/functions"),
      await createBody("life-py", "Python3.10", PY_ECHO),
    );
    expect(r.status).toBe(200);
    expect((r.json as { runtime: string }).runtime).toBe("Python3.10");
  });

  it("creates from inline single-file source and from an empty template", async () => {
    const inline = await t.api("POST", t.v2("/fgs/functions"), {
      func_name: "inline-src",
      package: "default",
      runtime: "Python3.10",
      handler: "main.handler",
      memory_size: 128,
      timeout: 3,
      code_type: "inline",
      func_code: {
        file: Buffer.from("def handler(event, context):\n    return 'inline'\n").toString("base64"),
      },
    });
    expect(inline.status).toBe(200);
    const tpl = await t.api("POST", t.v2("/fgs/functions"), {
      func_name: "template-fn",
      package: "default",
      runtime: "Node.js18.15",
      handler: "index.handler",
      memory_size: 128,
      timeout: 3,
      code_type: "inline",
    });
    expect(tpl.status).toBe(200);
  });

  it("lists with marker/maxitems/next_marker/count and filters", async () => {
    const all = await t.api("GET", t.v2("/fgs/functions"));
    expect(all.status).toBe(200);
    const body = all.json as {
      functions: { func_name: string; func_urn: string }[];
      next_marker: number;
      count: number;
    };
    expect(body.count).toBe(body.functions.length);
    expect(body.functions.map((f) => f.func_name)).toEqual(
      expect.arrayContaining(["life-node", "life-py"]),
    );
    expect(body.functions[0]!.func_urn.split(":")).toHaveLength(7);
    const page1 = (await t.api("GET", t.v2("/fgs/functions?maxitems=1"))).json as typeof body;
    expect(page1.functions).toHaveLength(1);
    expect(page1.next_marker).toBe(1);
    const page2 = (
      await t.api("GET", t.v2(`/fgs/functions?maxitems=1&marker=${page1.next_marker}`))
    ).json as typeof body;
    expect(page2.functions[0]!.func_name).not.toBe(page1.functions[0]!.func_name);
    const filtered = (await t.api("GET", t.v2("/fgs/functions?func_name=life-py")))
      .json as typeof body;
    expect(filtered.functions.map((f) => f.func_name)).toEqual(["life-py"]);
    for (const bad of ["maxitems=0", "maxitems=401", "maxitems=-1", "marker=-2", "marker=x"]) {
      const r = await t.api("GET", t.v2(`/fgs/functions?${bad}`));
      expect(r.status, bad).toBe(400);
      expect(errorCode(r.json)).toBe("FSS.1001");
    }
  });

  it("exports the code, and code with config", async () => {
    const code = await t.api("GET", t.v2("/fgs/functions/life-py/export?type=code"));
    expect(code.status).toBe(200);
    expect(code.headers["content-type"]).toContain("application/zip");
    expect(await zipNames(code.body)).toEqual(["index.py"]);
    const both = await t.api("GET", t.v2("/fgs/functions/life-py/export?code=true&config=true"));
    expect(both.status).toBe(200);
    expect((await zipNames(both.body)).sort()).toEqual(["code.zip", "life-py.json"]);
    const none = await t.api("GET", t.v2("/fgs/functions/life-py/export"));
    expect(none.status).toBe(400);
  });

  it("deletes a function (204) and then it is gone", async () => {
    const latest = await t.api(
      "DELETE",
      t.v2(
        "/fgs/functions/life-py:latest".replace(
          "life-py:latest",
          `${t.projectId}:default:life-py:latest`,
        ),
      ),
    );
    expect(latest.status).toBe(400);
    const r = await t.api("DELETE", t.v2("/fgs/functions/life-py"));
    expect(r.status).toBe(204);
    expect(r.text).toBe("");
    const again = await t.api("GET", t.v2("/fgs/functions/life-py/config"));
    expect(errorCode(again.json)).toBe("FSS.1051");
    const del404 = await t.api("DELETE", t.v2("/fgs/functions/life-py"));
    expect(del404.status).toBe(404);
  });
});

describe("validation rules, each with its FSS code", () => {
  const cases: [string, Record<string, unknown>, number, string][] = [
    ["name starting with a digit", { func_name: "1abc" }, 400, "FSS.1002"],
    ["name ending with a dash", { func_name: "abc-" }, 400, "FSS.1002"],
    ["name of 61 characters", { func_name: "a".repeat(61) }, 400, "FSS.1002"],
    ["name with a dot", { func_name: "a.b" }, 400, "FSS.1002"],
    ["bad package", { package: "a b" }, 400, "FSS.1004"],
    ["unknown runtime", { runtime: "Cobol1.0" }, 400, "FSS.1005"],
    ["C# runtime", { runtime: "C#(.NET Core 6.0)" }, 400, "FSS.1005"],
    ["handler without a dot", { handler: "index" }, 400, "FSS.1003"],
    ["handler too short", { handler: "a." }, 400, "FSS.1003"],
    ["handler with traversal", { handler: "../x.handler" }, 400, "FSS.1003"],
    ["handler of 129 characters", { handler: "a".repeat(120) + ".handler1" }, 400, "FSS.1003"],
    ["memory 100", { memory_size: 100 }, 400, "FSS.1007"],
    ["memory 129", { memory_size: 129 }, 400, "FSS.1007"],
    ["timeout 2", { timeout: 2 }, 400, "FSS.1008"],
    ["timeout 259201", { timeout: 259201 }, 400, "FSS.1008"],
    ["timeout fractional", { timeout: 3.5 }, 400, "FSS.1008"],
    ["user_data not JSON", { user_data: "{nope" }, 400, "FSS.1009"],
    ["user_data an array", { user_data: "[1]" }, 400, "FSS.1009"],
    ["user_data bad key", { user_data: JSON.stringify({ "1x": "a" }) }, 400, "FSS.1009"],
    [
      "user_data reserved key",
      { user_data: JSON.stringify({ RUNTIME_MEMORY: "1" }) },
      400,
      "FSS.1009",
    ],
    ["user_data object value", { user_data: JSON.stringify({ A: { b: 1 } }) }, 400, "FSS.1009"],
    [
      "user_data over 4 KB",
      { user_data: JSON.stringify({ A: "x".repeat(4096) }) },
      400,
      "FSS.1018",
    ],
    ["description of 513", { description: "d".repeat(513) }, 400, "FSS.1019"],
    ["initializer without dot", { initializer_handler: "init" }, 400, "FSS.1404"],
    [
      "initializer timeout 301",
      { initializer_handler: "index.init", initializer_timeout: 301 },
      400,
      "FSS.1405",
    ],
    ["ephemeral storage 1000", { ephemeral_storage: 1000 }, 400, "FSS.0400"],
    [
      "concurrency 1001",
      { strategy_config: { concurrency: 1001, concurrent_num: 1 } },
      400,
      "FSS.1026",
    ],
    [
      "concurrent_num 0",
      { strategy_config: { concurrency: 10, concurrent_num: 0 } },
      400,
      "FSS.1026",
    ],
    ["code_type jar for node", { code_type: "jar" }, 400, "FSS.1006"],
    ["unknown code_type", { code_type: "tarball" }, 400, "FSS.1006"],
    ["timeout as a string", { timeout: "10" }, 400, "FSS.0400"],
    ["missing func_name", { func_name: undefined }, 400, "FSS.0400"],
  ];
  it.each(cases)("%s", async (_name, patch, status, code) => {
    const body = { ...(await createBody("valid-name", "Node.js20.15", NODE_ECHO)), ...patch };
    const r = await t.api("POST", t.v2("/fgs/functions"), body);
    expect(r.status).toBe(status);
    expect(errorCode(r.json)).toBe(code);
  });

  it("rejects a body that is not JSON", async () => {
    const r = await t.api("POST", t.v2("/fgs/functions"), "{not json");
    expect(r.status).toBe(400);
    expect(errorCode(r.json)).toBe("FSS.0400");
  });

  it("rejects inline source over 10 KB with 413 FSS.1072", async () => {
    const r = await t.api("POST", t.v2("/fgs/functions"), {
      ...(await createBody("big-inline", "Node.js20.15", NODE_ECHO)),
      code_type: "inline",
      func_code: { file: Buffer.from("//" + "x".repeat(11 * 1024)).toString("base64") },
    });
    expect(r.status).toBe(413);
    expect(errorCode(r.json)).toBe("FSS.1072");
  });

  it("rejects a package over 50 MB with 413 FSS.1071", async () => {
    const r = await t.api("POST", t.v2("/fgs/functions"), {
      ...(await createBody("big-zip", "Node.js20.15", NODE_ECHO)),
      func_code: { file: "A".repeat(51 * 1024 * 1024) },
    });
    expect(r.status).toBe(413);
    expect(errorCode(r.json)).toBe("FSS.1071");
  });
});

describe("malformed ZIPs leave nothing behind", () => {
  const blobCount = (): number => countFiles(path.join(t.dataDir, "blobs"));
  const functionCount = async (): Promise<number> =>
    ((await t.api("GET", t.v2("/fgs/functions"))).json as { count: number }).count;

  const cases: [string, () => Promise<Buffer>, string][] = [
    ["zip-slip path", () => hostileZip({ "index.js": "x", "../evil.js": "x" }), "FSS.1011"],
    ["absolute path", () => hostileZip({ "index.js": "x", "/etc/evil": "x" }), "FSS.1011"],
    ["corrupt archive", async () => (await zipFiles(NODE_ECHO)).subarray(0, 40), "FSS.1011"],
    ["not a zip", async () => Buffer.from("hello world, not a zip"), "FSS.1011"],
    ["empty archive", () => zipFiles({}), "FSS.1011"],
    [
      "missing handler file",
      () => zipFiles({ "main.js": "exports.handler = () => 1" }),
      "FSS.1003",
    ],
    [
      "handler nested in a folder",
      () => zipFiles({ "code/index.js": "exports.handler = () => 1" }),
      "FSS.1003",
    ],
    [
      "zip bomb (absurd ratio)",
      () => zipFiles({ "index.js": "x", "zeros.bin": Buffer.alloc(64 * 1024 * 1024) }),
      "FSS.1011",
    ],
  ];
  it.each(cases)("%s → 400 %s", async (_name, make, code) => {
    const beforeBlobs = blobCount();
    const beforeFns = await functionCount();
    const zip = await make();
    const r = await t.api("POST", t.v2("/fgs/functions"), {
      ...(await createBody("bad-zip", "Node.js20.15", NODE_ECHO)),
      func_code: { file: zip.toString("base64") },
    });
    expect(r.status).toBe(400);
    expect(errorCode(r.json)).toBe(code);
    expect(blobCount()).toBe(beforeBlobs);
    expect(await functionCount()).toBe(beforeFns);
  });

  it("a symlink leaving the root is refused", async () => {
    const zip = await symlinkZip("link", "../../etc/passwd");
    const r = await t.api("POST", t.v2("/fgs/functions"), {
      ...(await createBody("bad-link", "Node.js20.15", NODE_ECHO)),
      func_code: { file: zip.toString("base64") },
    });
    expect(r.status).toBe(400);
    expect(errorCode(r.json)).toBe("FSS.1011");
  });

  it("a bad code update keeps the old code", async () => {
    await t.api(
      "POST",
      t.v2("/fgs/functions"),
      await createBody("keep-code", "Node.js20.15", NODE_ECHO),
    );
    const before = (await t.api("GET", t.v2("/fgs/functions/keep-code/code"))).json as {
      digest: string;
    };
    const zip = await hostileZip({ "index.js": "x", "../../evil": "x" });
    const r = await t.api("PUT", t.v2("/fgs/functions/keep-code/code"), {
      code_type: "zip",
      func_code: { file: zip.toString("base64") },
    });
    expect(r.status).toBe(400);
    const after = (await t.api("GET", t.v2("/fgs/functions/keep-code/code"))).json as {
      digest: string;
    };
    expect(after.digest).toBe(before.digest);
  });
});

function countFiles(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) n += countFiles(path.join(dir, e.name));
    else n++;
  }
  return n;
}

async function zipNames(buf: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error("no zip"));
      const names: string[] = [];
      zip.on("entry", (e: yauzl.Entry) => {
        names.push(e.fileName);
        zip.readEntry();
      });
      zip.on("end", () => resolve(names));
      zip.on("error", reject);
      zip.readEntry();
    });
  });
}

/** A ZIP holding index.js plus one symlink entry (external attributes S_IFLNK). */
async function symlinkZip(name: string, target: string): Promise<Buffer> {
  const yazl = (await import("yazl")).default;
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(NODE_ECHO["index.js"]), "index.js", { mtime: new Date(2000, 0, 1) });
  zip.addBuffer(Buffer.from(target), name, { mtime: new Date(2000, 0, 1), mode: 0o120777 });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
