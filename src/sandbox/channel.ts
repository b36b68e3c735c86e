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
 * frame arriving in 64 KB pieces is copied once, not once per piece. A frame that lies within
 * one chunk (a burst of small results in one read) is read in place, at an offset: no slice of
 * the chunk per header and per body.
 */
export function createFrameDecoder(
  onFrame: (text: string) => void,
  onError: (err: Error) => void,
): FrameDecoder {
  let chunks: Buffer[] = [];
  /** Bytes of chunks[0] already consumed. */
  let offset = 0;
  /** Bytes received and not consumed. */
  let total = 0;
  let need = -1; // body length of the frame being read, -1 while the header is incomplete
  let failed = false;

  const advance = (n: number): void => {
    offset += n;
    total -= n;
    if (offset === (chunks[0] as Buffer).length) {
      chunks.shift();
      offset = 0;
    }
  };
  /** The next n bytes (n <= total), when they span chunks. */
  const take = (n: number): Buffer => {
    if (offset > 0) chunks[0] = (chunks[0] as Buffer).subarray(offset);
    offset = 0;
    const all = Buffer.concat(chunks, total);
    chunks = n < all.length ? [all.subarray(n)] : [];
    total -= n;
    return all.subarray(0, n);
  };

  return {
    push(chunk) {
      if (failed) return;
      chunks.push(chunk);
      total += chunk.length;
      for (;;) {
        if (need < 0) {
          if (total < 4) return;
          const first = chunks[0] as Buffer;
          if (first.length - offset >= 4) {
            need = first.readUInt32BE(offset);
            advance(4);
          } else need = take(4).readUInt32BE(0);
          if (need > MAX_FRAME_BYTES) {
            failed = true;
            onError(new Error(`frame of ${need} bytes exceeds ${MAX_FRAME_BYTES}`));
            return;
          }
        }
        if (total < need) return;
        const n = need;
        need = -1;
        const first = chunks[0];
        if (n === 0) onFrame("");
        else if (first && first.length - offset >= n) {
          const text = first.toString("utf8", offset, offset + n);
          advance(n);
          onFrame(text);
        } else onFrame(take(n).toString("utf8"));
      }
    },
    get pending() {
      return total;
    },
  };
}
