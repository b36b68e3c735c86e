import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { Logger } from "../core/logger.js";
import { checkDependencyZip } from "./dependency-intake.js";
import { PUBLIC_OWNER, PUBLIC_PROJECT, type DependencyService } from "./dependency-service.js";

/** `public-deps/` at the package root, where `scripts/build-public-deps.mjs` writes at install. */
export function defaultPublicDependenciesDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "public-deps");
}

const manifestSchema = z.object({
  dependencies: z.array(
    z.object({
      name: z.string(),
      runtime: z.string(),
      description: z.string().default(""),
      file: z.string(),
    }),
  ),
});

/**
 * Register the public dependencies (owner `public`) listed in `<dir>/manifest.json`. Idempotent:
 * a package whose bytes equal the newest public version of its name is skipped; changed bytes
 * (after a reinstall) become a new version, so functions keep the version they attached.
 * A missing manifest means none were built; that is logged, not fatal.
 */
export async function registerPublicDependencies(
  service: DependencyService,
  dir: string,
  logger: Logger,
): Promise<number> {
  let raw: string;
  try {
    raw = await readFile(path.join(dir, "manifest.json"), "utf8");
  } catch {
    logger.info({ dir }, "no public dependencies built (run npm install to build them)");
    return 0;
  }
  const manifest = manifestSchema.parse(JSON.parse(raw));
  let added = 0;
  for (const entry of manifest.dependencies) {
    const zip = await readFile(path.join(dir, path.basename(entry.file)));
    const etag = createHash("md5").update(zip).digest("hex");
    const existing = await service.list(PUBLIC_PROJECT, {
      scope: "public",
      name: entry.name,
      marker: 0,
      maxitems: 400,
    });
    if (existing.items.some((d) => d.name === entry.name && d.etag === etag)) continue;
    const inspection = await checkDependencyZip(zip);
    await service.addPackage(
      PUBLIC_PROJECT,
      PUBLIC_OWNER,
      { name: entry.name, runtime: entry.runtime, description: entry.description },
      {
        zip,
        etag,
        fileName: path.basename(entry.file),
        link: "",
        fileCount: inspection.fileCount,
      },
    );
    added++;
  }
  logger.info({ dir, added, total: manifest.dependencies.length }, "public dependencies ready");
  return added;
}
