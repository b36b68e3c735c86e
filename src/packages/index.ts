/** ZIP intake and unpack: limits, zip-slip and bomb checks, handler entry checks, zipping. */
export * from "./limits.js";
export type { ZipEntry, ZipInspection } from "./zip-entry.js";
export { toEntryPath, symlinkStaysInside } from "./entry-path.js";
export { inspectZip, verifyZip } from "./inspect-zip.js";
export { extractZip } from "./extract-zip.js";
export { findEntry, assertHandlerEntry, toHandlerEntryFile } from "./handler-entry.js";
export { zipFromSingleFile, zipDirectory } from "./zip-write.js";
export { isZip, decodeZipBase64 } from "./zip-intake.js";
