import { FsError } from "../core/errors.js";
import type { ZipEntry } from "./zip-entry.js";

/** The non-directory entry at `fileName` (`./` prefix and backslashes tolerated), if any. */
export function findEntry(entries: readonly ZipEntry[], fileName: string): ZipEntry | undefined {
  const wanted = fileName.replace(/\\/g, "/").replace(/^(\.\/)+/, "");
  return entries.find((e) => !e.isDir && e.path === wanted);
}

/**
 * The file that holds a handler's module: `sub/dir/index.handler` + `.js` → `sub/dir/index.js`.
 * Everything before the last dot is the module path. Rejects a handler without one
 * (`INVALID_HANDLER`).
 */
export function toHandlerEntryFile(handler: string, extension: string): string {
  const dot = handler.lastIndexOf(".");
  if (dot <= 0 || dot === handler.length - 1 || dot < handler.lastIndexOf("/")) {
    throw new FsError("INVALID_HANDLER", `Handler must look like <file>.<function>: ${handler}`);
  }
  return handler.slice(0, dot) + extension;
}

/**
 * Require the handler's entry file at the archive root (one name, or candidates such as
 * `["index.js", "index.mjs"]`). Rejects with `HANDLER_FILE_NOT_FOUND`, naming the file and
 * pointing out the common mistake of zipping a folder instead of its contents.
 */
export function assertHandlerEntry(
  entries: readonly ZipEntry[],
  entryFile: string | readonly string[],
): ZipEntry {
  const candidates = typeof entryFile === "string" ? [entryFile] : entryFile;
  for (const name of candidates) {
    const found = findEntry(entries, name);
    if (found) return found;
  }
  const named = candidates.map((c) => `'${c}'`).join(" or ");
  const top = singleTopFolder(entries);
  const hint =
    top === undefined
      ? ""
      : ` The archive holds everything inside one top-level folder '${top}/'` +
        (candidates.some((c) => findEntry(entries, `${top}/${c}`)) ? ` (the file is there)` : "") +
        `; zip the folder's contents, not the folder itself.`;
  throw new FsError(
    "HANDLER_FILE_NOT_FOUND",
    `The handler file ${named} was not found at the root of the code package.${hint}`,
  );
}

/** The one directory every entry lives under, if the archive has exactly one at its top. */
function singleTopFolder(entries: readonly ZipEntry[]): string | undefined {
  let top: string | undefined;
  for (const e of entries) {
    const slash = e.path.indexOf("/");
    if (slash < 0 && !e.isDir) return undefined;
    const first = slash < 0 ? e.path : e.path.slice(0, slash);
    if (top !== undefined && top !== first) return undefined;
    top = first;
  }
  return top;
}
