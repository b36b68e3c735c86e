import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  hostileZip,
  startTestPlatform,
  zipFiles,
  type TestPlatform,
} from "../helpers/platform.js";
import { codeOf, depsApi, greetFiles, type DepVersion } from "./dependencies-helpers.js";

// The dependency API over HTTP: create (zip, http and file:// links), list, show, download,
// delete, the old single-version endpoints, and every limit with its error code.

let t: TestPlatform;
let api: ReturnType<typeof depsApi>;
let roots: string;
let server: Server;
let serverUrl: string;
const served = new Map<string, { body?: Buffer; declared?: number }>();

beforeAll(async () => {
  roots = mkdtempSync(path.join(os.tmpdir(), "fngraph-deproots-"));
  mkdirSync(path.join(roots, "allowed"));
  t = await startTestPlatform({ dependencyRoots: [path.join(roots, "allowed")] });
  api = depsApi(t);
  server = createServer((req, res) => {
    const s = served.get(req.url ?? "");
    if (!s) return void res.writeHead(404).end();
    if (s.declared !== undefined) {
      // Claims more than the limit; fngraph must give up without reading it all.
      res.writeHead(200, { "content-length": String(s.declared) });
      res.write(Buffer.alloc(1024));
      return;
    }
    res.writeHead(200, { "content-length": String(s.body!.length) }).end(s.body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await t.close();
  rmSync(roots, { recursive: true, force: true });
});

/** A ZIP of `n` empty files in 100 directories (python's zipfile: yazl takes ~40 s for this). */
function manyFiles(n: number): Buffer {
  const script =
    "import io, sys, zipfile\n" +
    "b = io.BytesIO()\n" +
    "with zipfile.ZipFile(b, 'w') as z:\n" +
    "    for i in range(int(sys.argv[1])): z.writestr(f'd{i % 100}/f{i}', '')\n" +
    "sys.stdout.buffer.write(b.getvalue())\n";
  return execFileSync("/usr/bin/python3", ["-c", script, String(n)], { maxBuffer: 64 << 20 });
}

const expectError = (
  r: { status: number; json: unknown; text: string },
  status: number,
  code: string,
) => {
  expect(r.status, r.text).toBe(status);
  expect(codeOf(r.json)).toBe(code);
};

describe("creating, listing, showing, deleting", () => {
  let v1: DepVersion;
  let v2: DepVersion;

  it("creates versions 1, 2 … of one name and describes them as the contract does", async () => {
    v1 = await api.create("greet-api", "Node.js20.15", greetFiles(), { description: "first" });
    expect(v1).toMatchObject({
      name: "greet-api",
      version: 1,
      owner: t.platform.credentials.domain_id,
      runtime: "Node.js20.15",
      description: "first",
      file_name: "greet-api.zip",
      link: "",
    });
    expect(v1.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(v1.size).toBeGreaterThan(0);
    expect(Math.abs(v1.last_modified - Date.now() / 1000)).toBeLessThan(60);
    v2 = await api.create("greet-api", "Node.js20.15", { "node_modules/x/index.js": "1" });
    expect(v2).toMatchObject({ dep_id: v1.dep_id, version: 2 });
    expect(v2.id).not.toBe(v1.id);
  });

  it("lists dependencies with the contract's filters", async () => {
    const list = async (q: string) => {
      const r = await t.api("GET", t.v2(`/fgs/dependencies${q}`));
      expect(r.status, r.text).toBe(200);
      return r.json as {
        dependencies: { id: string; name: string; version: number; owner: string }[];
        count: number;
        next_marker: number;
      };
    };
    const mine = await list("?dependency_type=private&name=greet-api");
    expect(mine.dependencies).toEqual([
      expect.objectContaining({ id: v1.dep_id, name: "greet-api", version: 2 }),
    ]);
    expect(mine.count).toBe(1);
    expect((await list("?dependency_type=private&runtime=Python3.9")).dependencies).toEqual([]);
    const pub = await list("?ispublic=true");
    expect(pub.dependencies.every((d) => d.owner === "public")).toBe(true);
    const all = await list("?dependency_type=all&limit=1");
    expect(all.dependencies).toHaveLength(1);
    expect(all.next_marker).toBe(1);
    expect(all.count).toBeGreaterThan(1);
    expectError(
      await t.api("GET", t.v2("/fgs/dependencies?dependency_type=mine")),
      400,
      "FSS.1001",
    );
  });

  it("lists versions newest first and shows one with a signed download_link", async () => {
    const r = await t.api("GET", t.v2(`/fgs/dependencies/${v1.dep_id}/version`));
    expect(r.status, r.text).toBe(200);
    const body = r.json as { dependencies: DepVersion[]; count: number };
    expect(body.dependencies.map((d) => d.version)).toEqual([2, 1]);
    expect(body.count).toBe(2);

    const show = await t.api("GET", t.v2(`/fgs/dependencies/${v1.dep_id}/version/1`));
    expect(show.status, show.text).toBe(200);
    const shown = show.json as DepVersion;
    expect(shown.id).toBe(v1.id);
    // The link works without credentials and returns the exact bytes.
    const link = new URL(shown.download_link!);
    const dl = await call(t.endpoint, "GET", link.pathname + link.search);
    expect(dl.status).toBe(200);
    expect(dl.headers["content-type"]).toBe("application/zip");
    expect(dl.body).toEqual(await zipFiles(greetFiles()));
    // A tampered link is refused.
    link.searchParams.set("expires", String(Number(link.searchParams.get("expires")) + 1));
    expectError(await call(t.endpoint, "GET", link.pathname + link.search), 403, "FSS.0403");

    expectError(
      await t.api("GET", t.v2(`/fgs/dependencies/${v1.dep_id}/version/9`)),
      404,
      "FSS.1056",
    );
    expectError(await t.api("GET", t.v2(`/fgs/dependencies/nope/version/1`)), 404, "FSS.1056");
  });

  it("deletes versions; the dependency goes with its last version", async () => {
    expect((await api.deleteVersion(v2)).status).toBe(204);
    expectError(await api.deleteVersion(v2), 404, "FSS.1056");
    expect((await api.deleteVersion(v1)).status).toBe(204);
    expectError(await t.api("GET", t.v2(`/fgs/dependencies/${v1.dep_id}`)), 404, "FSS.1056");
  });

  it("serves the older single-version endpoints (CreateDependency, ShowDependcy, DeleteDependency)", async () => {
    const zip = (await zipFiles({ "node_modules/old/index.js": "1" })).toString("base64");
    const body = { depend_type: "zip", depend_file: zip, runtime: "Node.js18.15", name: "old-api" };
    const r = await t.api("POST", t.v2("/fgs/dependencies"), body);
    expect(r.status, r.text).toBe(200);
    const created = r.json as DepVersion;
    expectError(await t.api("POST", t.v2("/fgs/dependencies"), body), 409, "FSS.1065");
    const show = await t.api("GET", t.v2(`/fgs/dependencies/${created.dep_id}`));
    expect(show.json).toMatchObject({ id: created.dep_id, name: "old-api", version: 1 });
    expect((await t.api("DELETE", t.v2(`/fgs/dependencies/${created.dep_id}`))).status).toBe(204);
  });
});

describe("depend_type obs: http(s) and file:// links", () => {
  it("fetches a ZIP over http", async () => {
    served.set("/dep.zip", {
      body: await zipFiles({ "node_modules/h/index.js": "exports.h = 1;" }),
    });
    const r = await t.api("POST", t.v2("/fgs/dependencies/version"), {
      depend_type: "obs",
      depend_link: `${serverUrl}/dep.zip`,
      runtime: "Node.js20.15",
      name: "from-http",
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ link: `${serverUrl}/dep.zip`, file_name: "dep.zip" });
    expectError(
      await t.api("POST", t.v2("/fgs/dependencies/version"), {
        depend_type: "obs",
        depend_link: `${serverUrl}/missing.zip`,
        runtime: "Node.js20.15",
        name: "from-http",
      }),
      400,
      "FSS.1010",
    );
  });

  it("refuses a URL package over 300 MB without downloading it", async () => {
    served.set("/huge.zip", { declared: 300 * 1024 * 1024 + 1 });
    expectError(
      await t.api("POST", t.v2("/fgs/dependencies/version"), {
        depend_type: "obs",
        depend_link: `${serverUrl}/huge.zip`,
        runtime: "Node.js20.15",
        name: "huge",
      }),
      413,
      "FSS.0413",
    );
  });

  it("reads file:// only inside the operator's dependencyRoots, up to 300 MB", async () => {
    const inside = path.join(roots, "allowed", "local.zip");
    writeFileSync(inside, await zipFiles({ "python/localdep/__init__.py": "X = 1\n" }));
    const outside = path.join(roots, "outside.zip");
    writeFileSync(outside, await zipFiles({ "python/x.py": "" }));
    const sparse = path.join(roots, "allowed", "sparse.zip");
    writeFileSync(sparse, "");
    truncateSync(sparse, 300 * 1024 * 1024 + 1);
    const make = (link: string) =>
      t.api("POST", t.v2("/fgs/dependencies/version"), {
        depend_type: "obs",
        depend_link: link,
        runtime: "Python3.10",
        name: "from-file",
      });
    const ok = await make(`file://${inside}`);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json).toMatchObject({ file_name: "local.zip", link: `file://${inside}` });
    expectError(await make(`file://${outside}`), 400, "FSS.1010");
    expectError(
      await make(`file://${path.join(roots, "allowed", "..", "outside.zip")}`),
      400,
      "FSS.1010",
    );
    expectError(await make(`file://${sparse}`), 413, "FSS.0413");
    expectError(await make("ftp://example.com/x.zip"), 400, "FSS.1010");
  });
});

describe("limits and checks", () => {
  it("refuses more than 30,000 files (and takes exactly 30,000)", async () => {
    expectError(
      await api.createRaw("too-many", "Node.js20.15", manyFiles(30_001)),
      400,
      "FSS.1024",
    );
    const r = await api.createRaw("just-enough", "Node.js20.15", manyFiles(30_000));
    expect(r.status, r.text).toBe(200);
  }, 120_000);

  it("refuses file names ending in ~", async () => {
    expectError(
      await api.createRaw("tilde", "Node.js20.15", { "node_modules/a/index.js~": "x" }),
      400,
      "FSS.1024",
    );
  });

  it("refuses a ZIP upload over 10 MB and points at depend_type obs", async () => {
    const big = await zipFiles({ "blob.bin": randomBytes(10 * 1024 * 1024 + 1024) });
    const r = await api.createRaw("big", "Node.js20.15", big);
    expectError(r, 413, "FSS.0413");
  });

  it("applies the code packages' ZIP safety checks", async () => {
    const slip = await hostileZip({ "../evil.js": "x" });
    expectError(await api.createRaw("slip", "Node.js20.15", slip), 400, "FSS.1024");
    const notZip = Buffer.from("definitely not a zip");
    expectError(await api.createRaw("notzip", "Node.js20.15", notZip), 400, "FSS.1024");
  });

  it("validates the request fields", async () => {
    const files = { "a.js": "1" };
    expectError(await api.createRaw("1bad", "Node.js20.15", files), 400, "FSS.1024");
    expectError(await api.createRaw("a".repeat(97), "Node.js20.15", files), 400, "FSS.1024");
    expect((await api.createRaw(`a${"b".repeat(94)}c`, "Node.js20.15", files)).status).toBe(200);
    expectError(await api.createRaw("ok", "Cobol1.0", files), 400, "FSS.1005");
    expectError(
      await api.createRaw("ok", "Node.js20.15", files, { depend_type: "tar" }),
      400,
      "FSS.1032",
    );
    expectError(
      await api.createRaw("ok", "Node.js20.15", files, { description: "x".repeat(513) }),
      400,
      "FSS.1019",
    );
  });

  it("checks a function's depend_version_list", async () => {
    const node = { "index.js": "exports.handler = async () => 1;" };
    const a1 = await api.create("lim-a", "Node.js20.15", { "node_modules/a/index.js": "1" });
    const a2 = await api.create("lim-a", "Node.js20.15", { "node_modules/a/index.js": "2" });
    const py = await api.create("lim-py", "Python3.10", { "python/p.py": "" });
    expectError(
      await api.createFunction("lim-1", "Node.js20.15", node, [a1.id, a2.id]),
      400,
      "FSS.1031",
    );
    expectError(await api.createFunction("lim-2", "Node.js20.15", node, [py.id]), 424, "FSS.0424");
    expectError(
      await api.createFunction("lim-3", "Node.js20.15", node, ["no-such-id"]),
      404,
      "FSS.1056",
    );

    const many: string[] = [];
    for (let i = 0; i < 21; i++) {
      many.push((await api.create(`lim-many-${i}`, "Node.js20.15", { [`m${i}.js`]: "1" })).id);
    }
    expectError(await api.createFunction("lim-4", "Node.js20.15", node, many), 403, "FSS.1045");
    const ok = await api.createFunction("lim-5", "Node.js20.15", node, many.slice(0, 20));
    expect(ok.status, ok.text).toBe(200);
    // update-code checks the list the same way
    expectError(await api.setCode("lim-5", node, many), 403, "FSS.1045");
    const upd = await api.setCode("lim-5", node, []);
    expect(upd.status, upd.text).toBe(200);
    expect(upd.json).toMatchObject({ depend_version_list: [], dependencies: [], depend_list: [] });
  });
});
