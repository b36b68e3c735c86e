import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { createBody, zipFiles, type TestPlatform } from "../helpers/platform.js";

/** The files of test/fixtures/dependencies/<name> as zip path → content, under `prefix`. */
export function depFixture(name: string, prefix = ""): Record<string, Buffer> {
  const root = path.join(import.meta.dirname, "..", "fixtures", "dependencies", name);
  const out: Record<string, Buffer> = {};
  const walk = (dir: string, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(dir, e.name), r);
      else out[prefix + r] = readFileSync(path.join(dir, e.name));
    }
  };
  walk(root, "");
  return out;
}

/** The `greet` Node.js package as a dependency would hold it: node_modules/greet/… */
export const greetFiles = (): Record<string, Buffer> => depFixture("node-greet", "node_modules/");

export interface DepVersion {
  id: string;
  dep_id: string;
  version: number;
  name: string;
  owner: string;
  runtime: string;
  etag: string;
  size: number;
  file_name: string;
  link: string;
  last_modified: number;
  download_link?: string;
}

/** Helpers bound to one platform for the dependency tests. */
export function depsApi(t: TestPlatform) {
  const fnPath = (name: string, q = ""): string =>
    t.v2(`/fgs/functions/urn:fss:local-1:${t.projectId}:function:default:${name}${q}`);

  /** POST /fgs/dependencies/version with a base64 ZIP; returns the raw response. */
  const createRaw = async (
    name: string,
    runtime: string,
    files: Record<string, string | Buffer> | Buffer,
    extra: Record<string, unknown> = {},
  ) => {
    const zip = Buffer.isBuffer(files) ? files : await zipFiles(files);
    return t.api("POST", t.v2("/fgs/dependencies/version"), {
      depend_type: "zip",
      depend_file: zip.toString("base64"),
      runtime,
      name,
      ...extra,
    });
  };

  const create = async (
    name: string,
    runtime: string,
    files: Record<string, string | Buffer> | Buffer,
    extra: Record<string, unknown> = {},
  ): Promise<DepVersion> => {
    const r = await createRaw(name, runtime, files, extra);
    expect(r.status, r.text).toBe(200);
    return r.json as DepVersion;
  };

  const createFunction = async (
    name: string,
    runtime: string,
    files: Record<string, string | Buffer>,
    dependVersionList: string[],
    extra: Record<string, unknown> = {},
  ) =>
    t.api(
      "POST",
      t.v2("/fgs/functions"),
      await createBody(name, runtime, files, { depend_version_list: dependVersionList, ...extra }),
    );

  const setCode = async (
    name: string,
    files: Record<string, string | Buffer>,
    dependVersionList?: string[],
  ) => {
    const zip = await zipFiles(files);
    return t.api("PUT", fnPath(name) + "/code", {
      code_type: "zip",
      code_filename: "c.zip",
      func_code: { file: zip.toString("base64") },
      ...(dependVersionList ? { depend_version_list: dependVersionList } : {}),
    });
  };

  /** Invoke and return the function's result (asserting the call itself succeeded). */
  const invoke = async (name: string, q = "", event: unknown = {}): Promise<unknown> => {
    const r = await t.api("POST", fnPath(name, q) + "/invocations", event, {
      "X-Cff-Log-Type": "tail",
    });
    expect(r.status, r.text).toBe(200);
    expect(
      r.headers["x-is-func-err"] ?? "false",
      `${r.text}\n${Buffer.from(r.headers["x-cff-function-log"] ?? "", "base64").toString()}`,
    ).toBe("false");
    return r.json;
  };

  const deleteVersion = (d: { dep_id: string; version: number }) =>
    t.api("DELETE", t.v2(`/fgs/dependencies/${d.dep_id}/version/${d.version}`));

  return { fnPath, createRaw, create, createFunction, setCode, invoke, deleteVersion };
}

/** The `error_code` of an error body. */
export const codeOf = (json: unknown): string => (json as { error_code?: string }).error_code ?? "";
