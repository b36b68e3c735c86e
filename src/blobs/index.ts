/** Content-addressed code and dependency packages (SHA-512), with an unpack-once cache. */
export { createBlobStore } from "./blob-store.js";
export type { BlobRef, BlobStore, BlobStoreOptions, UnpackFn } from "./types.js";
export {
  codeDirWithDependencies,
  createMergedDirs,
  type MergedDirs,
  type MergeLayer,
} from "./merged-dirs.js";
