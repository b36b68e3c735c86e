import { createHash } from "node:crypto";
import path from "node:path";
import { z } from "zod";
import { FsError, isFsError } from "../core/errors.js";
import {
  decodeZipBase64,
  inspectZip,
  MAX_DEPENDENCY_ENTRIES,
  verifyZip,
  type ZipInspection,
} from "../packages/index.js";
import { fetchPackage } from "./package-fetch.js";

const MiB = 1024 * 1024;

/** Contract §5: a dependency ZIP uploaded in the request (`depend_type: zip`) is at most 10 MB. */
export const MAX_DEPENDENCY_ZIP_BYTES = 10 * MiB;
/** Contract §5: a dependency fetched from a URL (`depend_type: obs`) is at most 300 MB. */
export const MAX_DEPENDENCY_URL_BYTES = 300 * MiB;
/** Contract §1.8: at most 30,000 files in one dependency package. */
export const MAX_DEPENDENCY_FILES = MAX_DEPENDENCY_ENTRIES;
/** Contract §1.8: ≤ 96 characters of `[A-Za-z0-9_.-]`, starting with a letter, ending with a letter or digit. */
export const DEPENDENCY_NAME = /^[A-Za-z](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9])?$/;

/** CreateDependencyVersion (and the old CreateDependency) request body, contract §1.8. */
export const createDependencyBody = z
  .object({
    depend_type: z.string().optional(),
    depend_file: z.string().optional(),
    depend_link: z.string().optional(),
    runtime: z.string(),
    name: z.string(),
    description: z.string().optional(),
  })
  .loose();
export type CreateDependencyBody = z.infer<typeof createDependencyBody>;

/** A dependency package that passed every check. */
export interface DependencyPackage {
  zip: Buffer;
  /** MD5 hex, the wire's `etag`. */
  etag: string;
  fileName: string;
  /** The URL it came from (`obs`), else "". */
  link: string;
  fileCount: number;
}

/**
 * The ZIP of a create request: base64 in `depend_file` (`zip`, ≤ 10 MB) or fetched from
 * `depend_link` (`obs`: http(s), or `file://` inside `fileRoots`; ≤ 300 MB), then checked as
 * `checkDependencyZip` does. A missing `depend_type` is read from which field is present.
 */
export async function intakeDependency(
  body: CreateDependencyBody,
  fileRoots: readonly string[],
): Promise<DependencyPackage> {
  const type =
    body.depend_type ??
    (body.depend_file !== undefined ? "zip" : body.depend_link !== undefined ? "obs" : "");
  let zip: Buffer;
  let link = "";
  let fileName = `${body.name}.zip`;
  if (type === "zip") {
    const file = body.depend_file ?? "";
    if (file === "")
      throw new FsError("INVALID_DEPENDENCY", "depend_file (a base64 ZIP) is required");
    if (Buffer.byteLength(file, "base64") > MAX_DEPENDENCY_ZIP_BYTES) {
      throw new FsError(
        "DEPENDENCY_TOO_LARGE",
        `depend_file is larger than ${MAX_DEPENDENCY_ZIP_BYTES / MiB} MB; upload larger packages with depend_type obs (≤ ${MAX_DEPENDENCY_URL_BYTES / MiB} MB)`,
      );
    }
    zip = asDependencyError(() => decodeZipBase64(file, Number.MAX_SAFE_INTEGER));
  } else if (type === "obs") {
    link = body.depend_link ?? "";
    zip = await asDependencyErrorAsync(() =>
      fetchPackage(link, {
        field: "depend_link",
        maxBytes: MAX_DEPENDENCY_URL_BYTES,
        tooLarge: "DEPENDENCY_TOO_LARGE",
        fileRoots,
      }),
    );
    fileName = path.posix.basename(new URL(link).pathname) || fileName;
  } else {
    throw new FsError(
      "INVALID_DEPENDENCY_TYPE",
      `depend_type must be zip or obs (got "${body.depend_type ?? ""}")`,
    );
  }
  const inspection = await checkDependencyZip(zip);
  return {
    zip,
    etag: createHash("md5").update(zip).digest("hex"),
    fileName,
    link,
    fileCount: inspection.fileCount,
  };
}

/**
 * Every check of a code package (zip-slip, symlinks, bombs, real sizes: `verifyZip`) plus the
 * dependency rules of contract §1.8: at most 30,000 files, no name ending in `~`.
 * Failures are INVALID_DEPENDENCY (FSS.1024).
 */
export async function checkDependencyZip(zip: Buffer): Promise<ZipInspection> {
  // The central directory alone settles the dependency rules; reading every entry's data
  // (verifyZip, ~0.5 ms per entry) comes after, so a refusal is quick.
  const inspection = await asDependencyErrorAsync(() => inspectZip(zip));
  if (inspection.fileCount > MAX_DEPENDENCY_FILES) {
    throw new FsError(
      "INVALID_DEPENDENCY",
      `the dependency has ${inspection.fileCount} files; at most ${MAX_DEPENDENCY_FILES} are allowed (split it into several dependencies)`,
    );
  }
  const tilde = inspection.entries.find((e) => e.path.endsWith("~"));
  if (tilde) {
    throw new FsError(
      "INVALID_DEPENDENCY",
      `file names in a dependency must not end with '~': ${tilde.path}`,
    );
  }
  return asDependencyErrorAsync(() => verifyZip(zip));
}

/** The package layer's INVALID_CODE means a bad dependency here. */
function toDependencyError(err: unknown): unknown {
  if (isFsError(err) && err.code === "INVALID_CODE") {
    return new FsError("INVALID_DEPENDENCY", err.message, { cause: err });
  }
  return err;
}

function asDependencyError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toDependencyError(err);
  }
}

async function asDependencyErrorAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toDependencyError(err);
  }
}
