// Builds the public dependency packages that ship with fngraph (owner `public`, registered at
// platform start; docs/dependencies.md) into public-deps/: one ZIP per package + manifest.json.
// Run by scripts/postinstall.mjs; safe to re-run. Only packages this machine already has are
// used (no registry access): lodash from node_modules, PyYAML (pure-Python part) from what
// /usr/bin/python3 imports. A package that is not available is skipped with a notice.
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  lstatSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import yazl from "yazl";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const out = path.join(root, "public-deps");
const python = process.env.FNGRAPH_PYTHON || "/usr/bin/python3";

/** Deterministic ZIP of `files` ([zip path, host path][]), sorted, fixed mtime. */
async function zipOf(files) {
  const zip = new yazl.ZipFile();
  for (const [name, host] of [...files].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const exec = (lstatSync(host).mode & 0o111) !== 0;
    zip.addBuffer(readFileSync(host), name, {
      mtime: new Date(2000, 0, 1),
      mode: 0o100000 | (exec ? 0o755 : 0o644),
      forceDosTimestamp: true,
    });
  }
  zip.end();
  const chunks = [];
  for await (const c of zip.outputStream) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Regular files under `dir` as [prefix/rel, host] pairs, skipping caches and native code. */
function walk(dir, prefix, skip = () => false) {
  const files = [];
  for (const name of readdirSync(dir).sort()) {
    const host = path.join(dir, name);
    const rel = `${prefix}/${name}`;
    if (skip(name)) continue;
    const st = lstatSync(host);
    if (st.isDirectory()) files.push(...walk(host, rel, skip));
    else if (st.isFile() && !name.endsWith("~")) files.push([rel, host]);
  }
  return files;
}

function lodash() {
  let pkgJson;
  try {
    pkgJson = createRequire(path.join(root, "package.json")).resolve("lodash/package.json");
  } catch {
    return undefined;
  }
  const dir = path.dirname(pkgJson);
  const { version } = JSON.parse(readFileSync(pkgJson, "utf8"));
  return {
    name: "lodash",
    runtime: "Node.js18.15",
    description: `lodash ${version}, the JavaScript utility library, as node_modules/lodash (require('lodash'))`,
    files: walk(dir, "node_modules/lodash"),
  };
}

function pyyaml() {
  const probe = spawnSync(
    python,
    [
      "-c",
      "import yaml, os, importlib.metadata as m\n" +
        "print(os.path.dirname(yaml.__file__)); print(yaml.__version__)\n" +
        "d = m.distribution('PyYAML'); print(getattr(d, '_path', ''))",
    ],
    { encoding: "utf8" },
  );
  if (probe.status !== 0) return undefined;
  const [dir, version, distInfo] = probe.stdout.trim().split("\n");
  const skip = (name) => name === "__pycache__" || name.endsWith(".so") || name.endsWith(".pyc");
  const files = walk(dir, "python/yaml", skip);
  if (distInfo && existsSync(distInfo) && lstatSync(distInfo).isDirectory()) {
    files.push(...walk(distInfo, `python/${path.basename(distInfo)}`, skip));
  }
  return {
    name: "pyyaml",
    runtime: "Python3.10",
    description: `PyYAML ${version} (pure-Python, without the libyaml extension) as python/yaml (import yaml)`,
    files,
  };
}

mkdirSync(out, { recursive: true });
const manifest = { dependencies: [] };
for (const [label, build] of [
  ["lodash (node_modules)", lodash],
  [`PyYAML (${python})`, pyyaml],
]) {
  const dep = build();
  if (!dep || dep.files.length === 0) {
    console.log(`fngraph: public dependency ${label} not available here; skipped`);
    continue;
  }
  const file = `${dep.name}.zip`;
  writeFileSync(path.join(out, file), await zipOf(dep.files));
  manifest.dependencies.push({
    name: dep.name,
    runtime: dep.runtime,
    description: dep.description,
    file,
  });
}
writeFileSync(path.join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(
  `fngraph: public dependencies built in public-deps/: ${manifest.dependencies.map((d) => d.name).join(", ") || "none"}`,
);
