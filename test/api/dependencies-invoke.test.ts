import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../helpers/platform.js";
import { codeOf, depFixture, depsApi, greetFiles } from "./dependencies-helpers.js";

// Dependencies laid out with the code inside real sandboxes: Node.js node_modules, Python
// package folders, a native .so through LD_LIBRARY_PATH, clashes, read-only, pinning, public ones.

let t: TestPlatform;
let api: ReturnType<typeof depsApi>;
beforeAll(async () => {
  t = await startTestPlatform();
  api = depsApi(t);
});
afterAll(async () => {
  await t.close();
});

describe("attaching dependencies", () => {
  it("lets a Node.js function require() a package from a dependency's node_modules", async () => {
    const dep = await api.create("greet", "Node.js20.15", greetFiles());
    const r = await api.createFunction(
      "dep-node",
      "Node.js20.15",
      {
        "index.js": `const { greet } = require("greet");
exports.handler = async (event) => ({ msg: greet(event.who) });`,
      },
      [dep.id],
    );
    expect(r.status, r.text).toBe(200);
    const model = r.json as Record<string, unknown>;
    expect(model["depend_version_list"]).toEqual([dep.id]);
    expect(model["depend_list"]).toEqual([dep.dep_id]);
    expect(model["dependencies"]).toEqual([
      expect.objectContaining({ id: dep.id, dep_id: dep.dep_id, name: "greet", version: 1 }),
    ]);
    expect(await api.invoke("dep-node", "", { who: "ada" })).toEqual({
      msg: "hello ada from greet@1.0.0",
    });
    const code = await t.api("GET", api.fnPath("dep-node") + "/code");
    expect((code.json as Record<string, unknown>)["dependencies"]).toHaveLength(1);
  });

  it("lets a Python function import a flat package folder and a site-packages tree", async () => {
    const flat = await api.create("pydep", "Python3.10", depFixture("py-flat"));
    const site = await api.create("sitedep", "Python3.9", depFixture("py-site"));
    const r = await api.createFunction(
      "dep-py",
      "Python3.10",
      {
        "index.py": `import pydep, sitedep
def handler(event, context):
    return {"shout": pydep.shout("hi"), "sum": sitedep.add(2, 3), "origin": sitedep.ORIGIN}
`,
      },
      [flat.id, site.id],
    );
    expect(r.status, r.text).toBe(200);
    expect(await api.invoke("dep-py")).toEqual({
      shout: "HI!",
      sum: 5,
      origin: "/opt/function/code/site-packages/sitedep/__init__.py",
    });
  });

  it("loads a native .so from a dependency's lib/ through LD_LIBRARY_PATH (ctypes)", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "fngraph-so-"));
    try {
      const src = path.join(
        import.meta.dirname,
        "..",
        "fixtures",
        "dependencies",
        "native",
        "fnadd.c",
      );
      const so = path.join(dir, "libfnadd.so");
      execFileSync("cc", ["-shared", "-fPIC", "-O2", "-o", so, src]);
      const dep = await api.create("fnadd-native", "Python3.10", {
        "lib/libfnadd.so*": readFileSync(so),
      });
      const r = await api.createFunction(
        "dep-native",
        "Python3.10",
        {
          "index.py": `import ctypes, os
def handler(event, context):
    lib = ctypes.CDLL("libfnadd.so")  # found through LD_LIBRARY_PATH, no path given
    return {"sum": lib.fn_add(2, 3), "ld": os.environ["LD_LIBRARY_PATH"]}
`,
        },
        [dep.id],
      );
      expect(r.status, r.text).toBe(200);
      expect(await api.invoke("dep-native")).toEqual({ sum: 1005, ld: "/opt/function/code/lib" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lets dependency files win a name clash, later dependencies over earlier, all read-only", async () => {
    const a = await api.create("clash-a", "Node.js20.15", {
      "shared.txt": "from dep a",
      "only-a.txt": "a",
    });
    const b = await api.create("clash-b", "Node.js20.15", { "only-a.txt": "b wins" });
    const r = await api.createFunction(
      "dep-clash",
      "Node.js20.15",
      {
        "shared.txt": "from code",
        "index.js": `const fs = require("fs");
exports.handler = async () => {
  let write = "written";
  try { fs.writeFileSync(__dirname + "/shared.txt", "x"); } catch (e) { write = e.code; }
  return {
    shared: fs.readFileSync(__dirname + "/shared.txt", "utf8"),
    onlyA: fs.readFileSync(__dirname + "/only-a.txt", "utf8"),
    write,
  };
};`,
      },
      [a.id, b.id],
    );
    expect(r.status, r.text).toBe(200);
    const out = (await api.invoke("dep-clash")) as Record<string, string>;
    expect(out["shared"]).toBe("from dep a");
    expect(out["onlyA"]).toBe("b wins");
    expect(["EROFS", "EACCES", "EPERM"]).toContain(out["write"]);
  });
});

describe("version pinning and deletion", () => {
  it("keeps the dependency versions a function version was published with", async () => {
    const code = {
      "index.js": `exports.handler = async () => ({ v: require("pinned").v });`,
    };
    const v1 = await api.create("pinned", "Node.js20.15", {
      "node_modules/pinned/index.js": "exports.v = 1;",
    });
    expect((await api.createFunction("dep-pin", "Node.js20.15", code, [v1.id])).status).toBe(200);
    const pub = await t.api("POST", api.fnPath("dep-pin") + "/versions", { version: "v1" });
    expect(pub.status, pub.text).toBe(200);
    expect((pub.json as Record<string, unknown>)["depend_version_list"]).toEqual([v1.id]);

    // Same name again: a new version of the same dependency.
    const v2 = await api.create("pinned", "Node.js20.15", {
      "node_modules/pinned/index.js": "exports.v = 2;",
    });
    expect(v2.dep_id).toBe(v1.dep_id);
    expect(v2.version).toBe(2);
    // latest keeps v1 until told otherwise…
    expect(await api.invoke("dep-pin")).toEqual({ v: 1 });
    const upd = await api.setCode("dep-pin", code, [v2.id]);
    expect(upd.status, upd.text).toBe(200);
    // …then latest runs v2 while the published version stays on v1.
    expect(await api.invoke("dep-pin")).toEqual({ v: 2 });
    expect(await api.invoke("dep-pin", ":v1")).toEqual({ v: 1 });

    // v1 is still used by the published version: 412 FSS.1033.
    const del = await api.deleteVersion(v1);
    expect(del.status).toBe(412);
    expect(codeOf(del.json)).toBe("FSS.1033");
    // Once the published version is gone, v1 can go.
    expect((await t.api("DELETE", api.fnPath("dep-pin", ":v1"))).status).toBe(204);
    expect((await api.deleteVersion(v1)).status).toBe(204);
    // v2 is used by latest until the function is deleted.
    expect((await api.deleteVersion(v2)).status).toBe(412);
    expect((await t.api("DELETE", api.fnPath("dep-pin"))).status).toBe(204);
    expect((await api.deleteVersion(v2)).status).toBe(204);
    const gone = await t.api("GET", t.v2(`/fgs/dependencies/${v2.dep_id}/version`));
    expect(gone.status).toBe(404);
    expect(codeOf(gone.json)).toBe("FSS.1056");
  });
});

describe("public dependencies", () => {
  const publicByName = async (): Promise<Map<string, { id: string; version: number }>> => {
    const r = await t.api("GET", t.v2("/fgs/dependencies?dependency_type=public"));
    expect(r.status, r.text).toBe(200);
    const deps = (
      r.json as { dependencies: { id: string; name: string; owner: string; version: number }[] }
    ).dependencies;
    for (const d of deps) expect(d.owner).toBe("public");
    return new Map(deps.map((d) => [d.name, d]));
  };
  const versionId = async (dep: { id: string; version: number }): Promise<string> => {
    const r = await t.api("GET", t.v2(`/fgs/dependencies/${dep.id}/version/${dep.version}`));
    expect(r.status, r.text).toBe(200);
    return (r.json as { id: string }).id;
  };

  it("ships lodash (Node.js) and PyYAML (Python), attachable like any other", async () => {
    const pub = await publicByName();
    expect([...pub.keys()]).toEqual(expect.arrayContaining(["lodash", "pyyaml"]));

    const lodash = await versionId(pub.get("lodash")!);
    const rn = await api.createFunction(
      "pub-node",
      "Node.js20.15",
      {
        "index.js": `const _ = require("lodash");\nexports.handler = async () => ({ c: _.chunk([1, 2, 3], 2), at: require.resolve("lodash") });`,
      },
      [lodash],
    );
    expect(rn.status, rn.text).toBe(200);
    expect(await api.invoke("pub-node")).toEqual({
      c: [[1, 2], [3]],
      at: "/opt/function/code/node_modules/lodash/lodash.js",
    });

    const yaml = await versionId(pub.get("pyyaml")!);
    const rp = await api.createFunction(
      "pub-py",
      "Python3.10",
      {
        "index.py": `import yaml
def handler(event, context):
    return {"doc": yaml.safe_load("a: [1, 2]"), "at": yaml.__file__}
`,
      },
      [yaml],
    );
    expect(rp.status, rp.text).toBe(200);
    expect(await api.invoke("pub-py")).toEqual({
      doc: { a: [1, 2] },
      at: "/opt/function/code/python/yaml/__init__.py",
    });

    // Public dependencies belong to the platform.
    const del = await t.api(
      "DELETE",
      t.v2(`/fgs/dependencies/${pub.get("lodash")!.id}/version/${pub.get("lodash")!.version}`),
    );
    expect(del.status).toBe(403);
    expect(codeOf(del.json)).toBe("FSS.1046");
  });
});
