import { FsError } from "../core/errors.js";
import {
  assertHandlerEntry,
  decodeZipBase64,
  isZip,
  MAX_INLINE_SOURCE,
  MAX_ZIP_BASE64_BYTES,
  toHandlerEntryFile,
  verifyZip,
  zipFromSingleFile,
} from "../packages/index.js";
import type { RuntimeDef } from "../runtimes/types.js";
import { fetchPackage } from "./package-fetch.js";

/** Largest package fetched from a URL (`code_type: obs`), contract §5. */
export const MAX_URL_PACKAGE_BYTES = 300 * 1024 * 1024;

export interface CodeInput {
  codeType: string;
  file: string | undefined;
  codeUrl: string | undefined;
}

const TEMPLATES: Record<string, { ext: string; source: (fn: string) => string }> = {
  nodejs: {
    ext: ".js",
    source: (fn) =>
      `exports.${fn} = async (event, context) => {\n  return { statusCode: 200, isBase64Encoded: false, ` +
      `headers: { "Content-Type": "application/json" }, body: JSON.stringify(event) };\n};\n`,
  },
  python: {
    ext: ".py",
    source: (fn) =>
      `import json\n\ndef ${fn}(event, context):\n    return {"statusCode": 200, "isBase64Encoded": False, ` +
      `"headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}\n`,
  },
};

/** File names that may hold a handler's module for a language. */
export function entryCandidates(runtime: RuntimeDef, handler: string): string[] {
  if (runtime.language === "nodejs") {
    return [".js", ".mjs", ".cjs"].map((ext) => toHandlerEntryFile(handler, ext));
  }
  return [runtime.entryFile(handler)];
}

/**
 * Turn the code of a create/update request into a checked ZIP: base64 ZIP (`zip`, `inline`),
 * inline single-file source (`inline`, ≤ 10 KB), or a ZIP at an http(s) URL (`obs`); an empty
 * `func_code.file` on create gives the default template. The handler's entry file must exist.
 */
export async function intakeCode(
  input: CodeInput,
  runtime: RuntimeDef,
  handler: string,
  allowTemplate: boolean,
): Promise<Buffer> {
  const zip = await toZip(input, runtime, handler, allowTemplate);
  const inspection = await verifyZip(zip);
  if (runtime.checkPackage) runtime.checkPackage(inspection.entries, handler);
  else assertHandlerEntry(inspection.entries, entryCandidates(runtime, handler));
  return zip;
}

async function toZip(
  input: CodeInput,
  runtime: RuntimeDef,
  handler: string,
  allowTemplate: boolean,
): Promise<Buffer> {
  const file = input.file ?? "";
  switch (input.codeType) {
    case "inline": {
      if (file === "") return template(runtime, handler, allowTemplate);
      if (file.length > MAX_ZIP_BASE64_BYTES)
        throw new FsError("PACKAGE_TOO_LARGE", "the code package is larger than 50 MB");
      const bytes = Buffer.from(file, "base64");
      if (isZip(bytes)) return decodeZipBase64(file);
      if (bytes.length > MAX_INLINE_SOURCE) {
        throw new FsError(
          "INLINE_CODE_TOO_LARGE",
          `inline source is limited to ${MAX_INLINE_SOURCE} bytes; upload a ZIP instead`,
        );
      }
      return zipFromSingleFile(runtime.entryFile(handler), bytes);
    }
    case "zip":
      if (file === "") {
        if (allowTemplate) return template(runtime, handler, allowTemplate);
        throw new FsError(
          "CODE_REQUIRED",
          "func_code.file (a base64 ZIP) is required for code_type zip",
        );
      }
      return decodeZipBase64(file);
    case "obs":
      return fetchPackage(input.codeUrl, {
        field: "code_url",
        maxBytes: MAX_URL_PACKAGE_BYTES,
        tooLarge: "PACKAGE_TOO_LARGE",
      });
    case "jar":
      // A bare JAR is kept whole, as `function.jar` in the package (Java: ZIPs of JARs too).
      if (runtime.codeTypes?.includes("jar")) {
        if (file === "")
          throw new FsError("CODE_REQUIRED", "func_code.file (a base64 JAR) is required");
        return zipFromSingleFile("function.jar", decodeZipBase64(file));
      }
      throw new FsError(
        "INVALID_CODE_TYPE",
        `code_type jar needs a Java runtime; ${runtime.language} takes zip, inline or obs`,
      );
    default:
      throw new FsError(
        "INVALID_CODE_TYPE",
        `code_type must be one of inline, zip, obs (got "${input.codeType}")`,
      );
  }
}

async function template(runtime: RuntimeDef, handler: string, allowed: boolean): Promise<Buffer> {
  if (!allowed) throw new FsError("CODE_REQUIRED", "func_code.file is required");
  const t = TEMPLATES[runtime.language];
  if (!t) throw new FsError("CODE_REQUIRED", "func_code.file is required for this runtime");
  const fn = handler.slice(handler.lastIndexOf(".") + 1);
  return zipFromSingleFile(toHandlerEntryFile(handler, t.ext), Buffer.from(t.source(fn)));
}
