/**
 * Every size and count limit of code and dependency packages, in one place.
 * Callers pass a `Partial<ZipLimits>` to override the defaults (dependencies use fewer entries).
 */

const MiB = 1024 * 1024;

/** Largest total of real (decompressed) bytes a package may unpack to: 1500 MiB. */
export const MAX_UNPACKED_BYTES = 1500 * MiB;

/** Largest `code.file` (base64 text of a ZIP) accepted inline by the API: FSS.1071 beyond it. */
export const MAX_ZIP_BASE64_BYTES = 50 * MiB;

/** Largest inline source (`code_type: inline`): FSS.1072 beyond it. */
export const MAX_INLINE_SOURCE = 10 * 1024;

/**
 * Largest overall compression ratio (declared uncompressed total / archive size). Deflate tops out
 * near 1032:1, so only degenerate input (long runs of one byte) comes close; real code and
 * dependency packages sit well under 20:1. A ratio this high is treated as a zip bomb.
 */
export const MAX_RATIO = 1000;

/** The ratio check applies only once the declared total exceeds this (small archives may be odd). */
export const RATIO_MIN_UNPACKED_BYTES = 1 * MiB;

/** Most entries in a code package. */
export const MAX_ENTRIES = 100_000;

/** Most entries in a dependency package (pass as `maxEntries` when unpacking dependencies). */
export const MAX_DEPENDENCY_ENTRIES = 30_000;

/** Longest entry path and longest symlink target, in bytes (Linux PATH_MAX). */
export const MAX_PATH_BYTES = 4096;

/** Most symlinks followed while resolving one symlink target inside the archive (Linux: 40). */
export const MAX_SYMLINK_HOPS = 40;

/** Limits applied when inspecting or extracting an archive. */
export interface ZipLimits {
  /** Largest total of decompressed bytes, declared and real. */
  maxUnpackedBytes: number;
  /** Most entries (files, directories and symlinks) in the central directory. */
  maxEntries: number;
  /** Largest overall ratio of declared uncompressed bytes to archive bytes. */
  maxRatio: number;
  /** Declared totals at or below this skip the ratio check. */
  ratioMinUnpackedBytes: number;
}

export const DEFAULT_ZIP_LIMITS: Readonly<ZipLimits> = Object.freeze({
  maxUnpackedBytes: MAX_UNPACKED_BYTES,
  maxEntries: MAX_ENTRIES,
  maxRatio: MAX_RATIO,
  ratioMinUnpackedBytes: RATIO_MIN_UNPACKED_BYTES,
});

/** Defaults with the given overrides applied (undefined fields keep the default). */
export function toZipLimits(overrides: Partial<ZipLimits> = {}): ZipLimits {
  return {
    maxUnpackedBytes: overrides.maxUnpackedBytes ?? DEFAULT_ZIP_LIMITS.maxUnpackedBytes,
    maxEntries: overrides.maxEntries ?? DEFAULT_ZIP_LIMITS.maxEntries,
    maxRatio: overrides.maxRatio ?? DEFAULT_ZIP_LIMITS.maxRatio,
    ratioMinUnpackedBytes:
      overrides.ratioMinUnpackedBytes ?? DEFAULT_ZIP_LIMITS.ratioMinUnpackedBytes,
  };
}
