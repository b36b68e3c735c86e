/** A stored blob: its SHA-512 (lowercase hex) and size in bytes. */
export interface BlobRef {
  digest: string;
  size: number;
}

/** Unpacks a ZIP into `dest`, which does not exist yet; must create it (e.g. packages' `extractZip`). */
export type UnpackFn = (zip: Buffer, dest: string) => Promise<unknown>;

export interface BlobStoreOptions {
  /** Root directory (`<data>/blobs`); created if missing. */
  dir: string;
  /** How a blob becomes a directory; injected so blobs does not depend on packages. */
  unpack: UnpackFn;
}

/**
 * Content-addressed store of code and dependency packages. Blobs live at
 * `<dir>/sha512/<first 2 hex>/<digest>`, unpacked copies at `<dir>/unpacked/<digest>`, work in
 * progress under `<dir>/tmp` (swept at start-up when its owner process is gone).
 * A malformed digest rejects with `INVALID_PARAMETER`, a missing blob with `NOT_FOUND`, any use
 * after `close()` with `UNAVAILABLE`.
 */
export interface BlobStore {
  /** Store `bytes` (atomic: temp file, fsync, rename); idempotent for bytes already stored. */
  put(bytes: Buffer): Promise<BlobRef>;
  get(digest: string): Promise<Buffer>;
  has(digest: string): Promise<boolean>;
  /** Where the blob lives (or would live). */
  path(digest: string): string;
  /**
   * The directory holding the unpacked blob, unpacked once per digest: concurrent calls share one
   * unpack, and the directory appears under its final name only when complete.
   */
  unpacked(digest: string): Promise<string>;
  /** Remove the blob and its unpacked directory; a no-op for an unknown digest. */
  delete(digest: string): Promise<void>;
  /** Wait for unpacks in flight, then refuse further use. Idempotent. */
  close(): Promise<void>;
}
