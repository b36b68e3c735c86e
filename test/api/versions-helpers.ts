import { expect } from "vitest";
import { createBody, zipFiles, type TestPlatform } from "../helpers/platform.js";

/** A function whose answer names its code (`tag`), the version that ran and the alias used. */
export function taggedCode(tag: string): Record<string, string> {
  return {
    "index.js": `exports.handler = async (event, context) => {
  if (event && event.ms) await new Promise((r) => setTimeout(r, event.ms));
  return { tag: ${JSON.stringify(tag)}, version: context.getVersion(), alias: context.getAlias(), env: process.env.stage || "" };
};`,
  };
}

export type Answer = { tag: string; version: string; alias: string; env: string };

/** Helpers bound to one platform for the version and alias tests. */
export function versionsApi(t: TestPlatform) {
  const fnPath = (name: string, q = ""): string =>
    t.v2(`/fgs/functions/urn:fss:local-1:${t.projectId}:function:default:${name}${q}`);

  const create = async (name: string, tag: string, extra: Record<string, unknown> = {}) => {
    const r = await t.api(
      "POST",
      t.v2("/fgs/functions"),
      await createBody(name, "Node.js20.15", taggedCode(tag), extra),
    );
    expect(r.status, r.text).toBe(200);
  };

  const setCode = async (name: string, tag: string): Promise<void> => {
    const zip = await zipFiles(taggedCode(tag));
    const r = await t.api("PUT", fnPath(name, ":latest") + "/code", {
      code_type: "zip",
      code_filename: "c.zip",
      func_code: { file: zip.toString("base64") },
    });
    expect(r.status, r.text).toBe(200);
  };

  const publish = (name: string, body: Record<string, unknown> = {}) =>
    t.api("POST", fnPath(name) + "/versions", body);

  /** Create a function and publish `tags.length` versions v1..vN, each with its own code. */
  const createWithVersions = async (name: string, tags: string[]): Promise<void> => {
    await create(name, tags[0]!);
    for (const [i, tag] of tags.entries()) {
      if (i > 0) await setCode(name, tag);
      const r = await publish(name, { version: `v${i + 1}` });
      expect(r.status, r.text).toBe(200);
    }
  };

  const invoke = async (
    name: string,
    q: string,
    event: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) => {
    const r = await t.api("POST", fnPath(name, q) + "/invocations", event, {
      "X-Cff-Log-Type": "tail",
      ...headers,
    });
    expect(r.status, r.text).toBe(200);
    const log = Buffer.from(r.headers["x-cff-function-log"] ?? "", "base64").toString("utf8");
    return { answer: r.json as Answer, log, requestId: r.headers["x-cff-request-id"]! };
  };

  return { fnPath, create, setCode, publish, createWithVersions, invoke };
}

/** `error_code` of an error response. */
export const codeOf = (r: { json: unknown }): string =>
  (r.json as { error_code?: string }).error_code ?? "";
