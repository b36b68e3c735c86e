import { createHmac, timingSafeEqual } from "node:crypto";

/** Path prefix of download links; served outside `/v2` because the link itself is the credential. */
export const DOWNLOAD_PATH = "/fgs-downloads/dependencies";

/**
 * Temporary download links for dependency packages, like OBS's signed URLs: whoever holds the
 * link may fetch that one version until it expires, with no other credentials.
 * `signature = HMAC-SHA256(key, "<version id>\n<expires epoch s>")`, hex.
 */
export function createDownloadLinks(opts: { key: Buffer; ttlSeconds: number; now: () => number }) {
  const sign = (versionId: string, expires: number): string =>
    createHmac("sha256", opts.key).update(`${versionId}\n${expires}`).digest("hex");
  return {
    /** A link to `versionId` valid for `ttlSeconds` from now, under `base` (scheme://host). */
    link(base: string, versionId: string): string {
      const expires = Math.floor(opts.now() / 1000) + opts.ttlSeconds;
      const q = new URLSearchParams({
        expires: String(expires),
        signature: sign(versionId, expires),
      });
      return `${base}${DOWNLOAD_PATH}/${encodeURIComponent(versionId)}?${q.toString()}`;
    },
    /** Whether a link's parameters are genuine and not yet expired. */
    verify(versionId: string, expires: string | undefined, signature: string | undefined): boolean {
      if (!expires || !/^\d{1,12}$/.test(expires) || !signature) return false;
      if (Number(expires) < Math.floor(opts.now() / 1000)) return false;
      const want = Buffer.from(sign(versionId, Number(expires)), "hex");
      const got = Buffer.from(signature, "hex");
      return got.length === want.length && timingSafeEqual(got, want);
    },
  };
}

export type DownloadLinks = ReturnType<typeof createDownloadLinks>;
