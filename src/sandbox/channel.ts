/**
 * Frame codec of the instance protocol (src/runtimes/PROTOCOL.md): a 4-byte big-endian length
 * followed by that many bytes of UTF-8 JSON. The shims carry their own copy of this codec.
 */

/** Frames above this size are a protocol violation (events are capped far below, at 6 MB). */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** Encode one message as a frame. */
export function encodeFrame(message: unknown): Buffer {
  return encodeJsonFrame(JSON.stringify(message));
}

/** A frame of a message already serialised. */
export function encodeJsonFrame(json: string): Buffer {
  // One buffer, written in place: no separate body and header to concatenate (a no-op call's
  // invoke frame was 5 % of the server's CPU with three allocations and two copies).
  const length = Buffer.byteLength(json, "utf8");
  const frame = Buffer.allocUnsafe(4 + length);
  frame.writeUInt32BE(length, 0);
  frame.write(json, 4, "utf8");
  return frame;
}

export interface FrameDecoder {
  /** Feed bytes as they arrive; complete frames are passed to `onFrame` synchronously. */
  push(chunk: Buffer): void;
  /** Bytes received but not yet part of a complete frame. */
  readonly pending: number;
}

/**
 * Incremental decoder. Chunks are kept in a list and concatenated once per frame, so a multi-MB
 * frame arriving in 64 KB pieces is copied once, not once per piece.
 */
export function createFrameDecoder(
  onFrame: (text: string) => void,
  onError: (err: Error) => void,
): FrameDecoder {
  let chunks: Buffer[] = [];
  let total = 0;
  let need = -1; // body length of the frame being read, -1 while the header is incomplete
  let failed = false;

  const take = (n: number): Buffer => {
    const first = chunks[0];
    if (first && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) chunks.shift();
      else chunks[0] = first.subarray(n);
      total -= n;
      return out;
    }
    const all = Buffer.concat(chunks, total);
    const out = all.subarray(0, n);
    chunks = n < all.length ? [all.subarray(n)] : [];
    total -= n;
    return out;
  };

  return {
    push(chunk) {
      if (failed) return;
      chunks.push(chunk);
      total += chunk.length;
      for (;;) {
        if (need < 0) {
          if (total < 4) return;
          need = take(4).readUInt32BE(0);
          if (need > MAX_FRAME_BYTES) {
            failed = true;
            onError(new Error(`frame of ${need} bytes exceeds ${MAX_FRAME_BYTES}`));
            return;
          }
        }
        if (total < need) return;
        const body = take(need);
        need = -1;
        onFrame(body.toString("utf8"));
      }
    },
    get pending() {
      return total;
    },
  };
}
