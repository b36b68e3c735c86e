import { open, realpath } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Agent, interceptors, request } from "undici";
import { FsError, type ErrorCode } from "../core/errors.js";
import { isZip } from "../packages/index.js";

/** How a package named by a URL is fetched. */
export interface FetchOptions {
  /** The request field named in messages (`code_url`, `depend_link`). */
  field: string;
  /** Largest package accepted, in bytes. */
  maxBytes: number;
  /** Error for a package over `maxBytes`. */
  tooLarge: ErrorCode;
  /**
   * Host directories `file://` URLs may read from (operator setting). Empty or absent: only
   * http(s) URLs are accepted.
   */
  fileRoots?: readonly string[];
}

/**
 * Fetch the ZIP a URL names: `http(s)://` (redirects followed, 30 s to headers, 60 s between
 * body chunks) or, when the operator allows directories, `file://` inside one of them (after
 * resolving symlinks and `..`). Rejects with INVALID_URL, `tooLarge`, or INVALID_CODE when the
 * bytes are not a ZIP. Deeper checks are the caller's (`verifyZip`).
 */
export async function fetchPackage(url: string | undefined, opts: FetchOptions): Promise<Buffer> {
  const allowed = opts.fileRoots?.length ? "an http(s) or file:// URL" : "an http(s) URL";
  let parsed: URL;
  try {
    parsed = new URL(url ?? "");
  } catch {
    throw new FsError("INVALID_URL", `${opts.field} must be ${allowed} of a ZIP package`);
  }
  let zip: Buffer;
  if (parsed.protocol === "file:" && opts.fileRoots?.length) {
    zip = await readAllowedFile(parsed, opts, opts.fileRoots);
  } else if (parsed.protocol === "https:" || parsed.protocol === "http:") {
    zip = await download(parsed, opts);
  } else {
    throw new FsError("INVALID_URL", `${opts.field} must be ${allowed} of a ZIP package`);
  }
  if (!isZip(zip)) {
    throw new FsError("INVALID_CODE", `the file at ${opts.field} is not a ZIP archive`);
  }
  return zip;
}

/** undici 7 follows redirects through an interceptor, not a request option. */
let redirecting: ReturnType<Agent["compose"]> | undefined;

async function download(url: URL, opts: FetchOptions): Promise<Buffer> {
  redirecting ??= new Agent().compose(interceptors.redirect({ maxRedirections: 3 }));
  let res;
  try {
    res = await request(url, {
      method: "GET",
      headersTimeout: 30_000,
      bodyTimeout: 60_000,
      dispatcher: redirecting,
    });
  } catch (err) {
    throw new FsError("INVALID_URL", `cannot fetch ${opts.field}: ${(err as Error).message}`);
  }
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new FsError("INVALID_URL", `${opts.field} answered HTTP ${res.statusCode}`);
  }
  const declared = Number(res.headers["content-length"] ?? NaN);
  if (declared > opts.maxBytes) {
    res.body.destroy();
    throw tooLarge(opts);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > opts.maxBytes) {
      res.body.destroy();
      throw tooLarge(opts);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

async function readAllowedFile(
  url: URL,
  opts: FetchOptions,
  roots: readonly string[],
): Promise<Buffer> {
  if (url.host !== "" && url.host !== "localhost") {
    throw new FsError("INVALID_URL", `${opts.field}: file:// URLs must name a local path`);
  }
  let real: string;
  try {
    real = await realpath(fileURLToPath(url));
  } catch {
    throw new FsError("INVALID_URL", `${opts.field}: no such file`);
  }
  const inside = await Promise.all(
    roots.map(async (root) => {
      const r = await realpath(root).catch(() => undefined);
      return r !== undefined && (real === r || real.startsWith(r + path.sep));
    }),
  );
  if (!inside.some(Boolean)) {
    throw new FsError(
      "INVALID_URL",
      `${opts.field}: the file is outside the directories the operator allows (dependencyRoots)`,
    );
  }
  const handle = await open(real, "r");
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new FsError("INVALID_URL", `${opts.field}: not a regular file`);
    if (st.size > opts.maxBytes) throw tooLarge(opts);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

function tooLarge(opts: FetchOptions): FsError {
  const mb = Math.round(opts.maxBytes / (1024 * 1024));
  return new FsError(opts.tooLarge, `the package at ${opts.field} is larger than ${mb} MB`);
}
