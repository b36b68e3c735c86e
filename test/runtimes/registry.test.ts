import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createRuntimeRegistry } from "../../src/runtimes/registry.js";

const paths = {
  codeRoot: "/opt/function/code",
  runtimeRoot: "/opt/function/runtime",
  tmpDir: "/tmp",
};

describe("runtime registry", () => {
  const reg = createRuntimeRegistry({ nodePath: "/usr/bin/node" });

  it("serves the FunctionGraph names and no Python 2", () => {
    for (const n of [
      "Node.js14.18",
      "Node.js16.17",
      "Node.js18.15",
      "Node.js20.15",
      "Node.js6.10",
    ]) {
      expect(reg.get(n)?.language).toBe("nodejs");
    }
    for (const n of ["Python3.6", "Python3.9", "Python3.10", "Python3.12"]) {
      expect(reg.get(n)?.language).toBe("python");
    }
    expect(reg.get("Python2.7")).toBeUndefined();
    expect(reg.get("C#(.NET Core 3.1)")).toBeUndefined();
    expect(reg.names()).toContain("Node.js20.15");
  });

  it("finds the shims on disk", () => {
    const node = reg.get("Node.js20.15");
    const py = reg.get("Python3.10");
    expect(existsSync(path.join(node?.shimDir ?? "", "runtime.cjs"))).toBe(true);
    expect(existsSync(path.join(py?.shimDir ?? "", "runtime.py"))).toBe(true);
  });

  it("builds argv with the heap limit and the shim path", () => {
    const argv = reg.get("Node.js18.15")?.command(paths, { memoryMb: 256 });
    expect(argv).toEqual([
      "/usr/bin/node",
      "--max-old-space-size=192",
      "--no-warnings",
      "/opt/function/runtime/runtime.cjs",
    ]);
    expect(reg.get("Python3.9")?.command(paths, { memoryMb: 256 })).toEqual([
      "/usr/bin/python3",
      "-u",
      "-B",
      "-s",
      "/opt/function/runtime/runtime.py",
    ]);
  });

  it("gives a base env built from nothing of the platform's own", () => {
    const env = reg.get("Python3.10")?.baseEnv(paths) ?? {};
    expect(env.PYTHONPATH).toBe(
      "/opt/function/code:/opt/function/code/python:/opt/function/code/site-packages",
    );
    expect(env.LD_LIBRARY_PATH).toBe("/opt/function/code/lib");
    expect(env.PATH).toBe("/usr/local/bin:/usr/bin:/bin");
    expect(Object.keys(env).sort()).toEqual([
      "HOME",
      "LANG",
      "LD_LIBRARY_PATH",
      "PATH",
      "PYTHONDONTWRITEBYTECODE",
      "PYTHONPATH",
      "PYTHONUNBUFFERED",
      "RUNTIME_CODE_ROOT",
      "RUNTIME_ROOT",
      "TMPDIR",
    ]);
    expect(Object.keys(reg.get("Node.js20.15")?.baseEnv(paths) ?? {}).sort()).toEqual([
      "HOME",
      "LANG",
      "LD_LIBRARY_PATH",
      "NODE_PATH",
      "PATH",
      "RUNTIME_CODE_ROOT",
      "RUNTIME_ROOT",
      "TMPDIR",
    ]);
  });

  it("maps handlers to entry files", () => {
    expect(reg.get("Node.js20.15")?.entryFile("index.handler")).toBe("index.js");
    expect(reg.get("Node.js20.15")?.entryFile("src/app.main")).toBe("src/app.js");
    expect(reg.get("Python3.10")?.entryFile("pkg.mod.handler")).toBe("pkg/mod.py");
  });
});
