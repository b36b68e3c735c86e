/** One entry of an inspected archive, after its path was made safe. */
export interface ZipEntry {
  /** Safe path relative to the archive root, `/`-separated, no trailing slash. */
  path: string;
  /** Declared uncompressed size in bytes (0 for directories). */
  size: number;
  isDir: boolean;
  isSymlink: boolean;
  /** Permission bits as they will be written: 0o755 for directories and executables, else 0o644. */
  mode: number;
  /** For symlinks: the target as stored (relative, proven to stay inside the root). */
  linkTarget?: string;
}

/** What `inspectZip` learns from an archive without writing anything. */
export interface ZipInspection {
  entries: ZipEntry[];
  /** Sum of declared uncompressed sizes. */
  totalUncompressed: number;
  /** Entries that are not directories (regular files and symlinks). */
  fileCount: number;
}
