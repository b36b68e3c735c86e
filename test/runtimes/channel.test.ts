import { describe, expect, it } from "vitest";
import { createFrameDecoder, encodeFrame } from "../../src/sandbox/channel.js";

function decodeAll(chunks: Buffer[]): { frames: unknown[]; errors: Error[] } {
  const frames: unknown[] = [];
  const errors: Error[] = [];
  const d = createFrameDecoder(
    (t) => frames.push(JSON.parse(t)),
    (e) => errors.push(e),
  );
  for (const c of chunks) d.push(c);
  return { frames, errors };
}

describe("frame codec", () => {
  it("round-trips several frames in one chunk", () => {
    const buf = Buffer.concat([encodeFrame({ a: 1 }), encodeFrame("é"), encodeFrame([])]);
    expect(decodeAll([buf]).frames).toEqual([{ a: 1 }, "é", []]);
  });

  it("reassembles frames split at every byte", () => {
    const buf = Buffer.concat([encodeFrame({ type: "ready" }), encodeFrame({ x: "ünïcode" })]);
    const bytes = [...buf].map((b) => Buffer.from([b]));
    expect(decodeAll(bytes).frames).toEqual([{ type: "ready" }, { x: "ünïcode" }]);
  });

  it("reassembles frames cut into two or three pieces anywhere", () => {
    const msgs = [{ type: "ready" }, "", { x: "ünïcode", n: 1 }, [1, 2, 3], { y: "z".repeat(40) }];
    const buf = Buffer.concat(msgs.map((m) => encodeFrame(m)));
    for (let i = 0; i <= buf.length; i++) {
      expect(decodeAll([buf.subarray(0, i), buf.subarray(i)]).frames).toEqual(msgs);
      const j = Math.min(buf.length, i + 1 + (i % 7));
      expect(decodeAll([buf.subarray(0, i), buf.subarray(i, j), buf.subarray(j)]).frames).toEqual(
        msgs,
      );
    }
  });

  it("passes an empty frame", () => {
    const empty = Buffer.alloc(4);
    const frames: string[] = [];
    const d = createFrameDecoder(
      (t) => frames.push(t),
      () => undefined,
    );
    d.push(Buffer.concat([empty, encodeFrame(1), empty]));
    expect(frames).toEqual(["", "1", ""]);
    expect(d.pending).toBe(0);
  });

  it("passes a multi-MB frame arriving in 64 KB pieces", () => {
    const big = "z".repeat(5 * 1024 * 1024);
    const buf = encodeFrame({ big });
    const pieces: Buffer[] = [];
    for (let i = 0; i < buf.length; i += 65536) pieces.push(buf.subarray(i, i + 65536));
    const { frames } = decodeAll(pieces);
    expect(frames).toHaveLength(1);
    expect((frames[0] as { big: string }).big.length).toBe(big.length);
  });

  it("rejects an absurd length", () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffffffff, 0);
    expect(decodeAll([header]).errors).toHaveLength(1);
  });
});
