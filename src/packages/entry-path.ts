import { posix } from "node:path";
import { FsError } from "../core/errors.js";
import { MAX_PATH_BYTES, MAX_SYMLINK_HOPS } from "./limits.js";

/**
 * Turn an archive entry name into a safe path relative to the extraction root, or `""` for the
 * root itself (`./`). Backslashes are read as separators (archives made on Windows use them), so
 * `..\evil` is caught like `../evil`. `..` that stays inside (`a/../b`) is normalised away; `..`
 * that climbs out of the root, absolute paths, drive letters and NUL are rejected (zip-slip).
 */
export function toEntryPath(rawName: string): string {
  if (rawName.includes("\0")) throw slip(rawName, "contains a NUL byte");
  if (Buffer.byteLength(rawName) > MAX_PATH_BYTES) throw slip(rawName, "path too long");
  const name = rawName.replace(/\\/g, "/");
  if (name.startsWith("/")) throw slip(rawName, "absolute path");
  if (/^[a-zA-Z]:/.test(name)) throw slip(rawName, "absolute path with a drive letter");
  const normal = posix.normalize(name);
  if (normal === ".." || normal.startsWith("../")) throw slip(rawName, "escapes the archive root");
  const trimmed = normal.replace(/\/+$/, "");
  return trimmed === "." ? "" : trimmed;
}

function slip(rawName: string, why: string): FsError {
  return new FsError(
    "INVALID_CODE",
    `Unsafe entry path in ZIP (zip-slip): ${JSON.stringify(rawName)} ${why}`,
  );
}

/**
 * Whether the symlink at `linkPath` (a safe relative path) pointing to `target` stays inside the
 * root once every symlink of the archive on the way is followed, as the kernel would after
 * extraction. Lexical normalisation alone is not enough: `x/b -> ..` is inside, but
 * `a -> x/b/..` then climbs out. Loops and chains longer than MAX_SYMLINK_HOPS count as outside.
 */
export function symlinkStaysInside(
  linkPath: string,
  target: string,
  links: ReadonlyMap<string, string>,
): boolean {
  if (!isRelativeTarget(target)) return false;
  const resolved = linkPath.split("/").slice(0, -1);
  const pending = target.split("/");
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (resolved.length === 0) return false;
      resolved.pop();
      continue;
    }
    resolved.push(part);
    const next = links.get(resolved.join("/"));
    if (next === undefined) continue;
    if (++hops > MAX_SYMLINK_HOPS || !isRelativeTarget(next)) return false;
    resolved.pop();
    pending.unshift(...next.split("/"));
  }
  return true;
}

function isRelativeTarget(target: string): boolean {
  return (
    target.length > 0 &&
    !target.includes("\0") &&
    !target.startsWith("/") &&
    Buffer.byteLength(target) <= MAX_PATH_BYTES
  );
}
