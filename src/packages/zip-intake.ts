import { FsError } from "../core/errors.js";
import { MAX_ZIP_BASE64_BYTES } from "./limits.js";

const LOCAL_FILE_HEADER = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const END_OF_CENTRAL_DIR = Buffer.from([0x50, 0x4b, 0x05, 0x06]);

/** Whether `buf` starts like a ZIP: a local file header, or the end record of an empty archive. */
export function isZip(buf: Buffer): boolean {
  if (buf.length < 4) return false;
  const magic = buf.subarray(0, 4);
  return magic.equals(LOCAL_FILE_HEADER) || magic.equals(END_OF_CENTRAL_DIR);
}

/**
 * Decode the base64 `code.file` of an API request into ZIP bytes. Rejects text longer than
 * `maxBase64Bytes` with `PACKAGE_TOO_LARGE` (FSS.1071), text that is not base64 or does not
 * decode to a ZIP with `INVALID_CODE`. Deeper checks are `inspectZip`'s.
 */
export function decodeZipBase64(text: string, maxBase64Bytes = MAX_ZIP_BASE64_BYTES): Buffer {
  if (text.length > maxBase64Bytes) {
    throw new FsError(
      "PACKAGE_TOO_LARGE",
      `The code package is ${text.length} bytes of base64; at most ${maxBase64Bytes} are allowed`,
    );
  }
  const compact = text.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw new FsError("INVALID_CODE", "The code package is not valid base64");
  }
  const buf = Buffer.from(compact, "base64");
  if (!isZip(buf)) throw new FsError("INVALID_CODE", "The code package is not a ZIP archive");
  return buf;
}
