import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Constant-time string equality. Both sides are hashed first so that neither the comparison
 * nor an early length check reveals how much of a secret the caller got right.
 */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash("sha256").update(a, "utf8").digest();
  const db = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(da, db);
}
