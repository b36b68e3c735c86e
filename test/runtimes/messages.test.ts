import { describe, expect, it } from "vitest";
import { parseRuntimeMessage } from "../../src/runtimes/messages.js";

const ok = { type: "result", id: "7", ok: true, result: '{"a":1}', durationMs: 0.5, maxRssKb: 0 };

describe("parseRuntimeMessage", () => {
  it("takes a plain result as it is", () => {
    expect(parseRuntimeMessage(JSON.stringify(ok))).toEqual(ok);
  });

  it("drops unknown keys the same way for every message", () => {
    expect(parseRuntimeMessage(JSON.stringify({ ...ok, extra: 1 }))).toEqual(ok);
    expect(parseRuntimeMessage(JSON.stringify({ type: "loaded", initMs: 3, x: 1 }))).toEqual({
      type: "loaded",
      initMs: 3,
    });
  });

  it("refuses malformed results", () => {
    for (const bad of [
      { ...ok, durationMs: -1 },
      { ...ok, maxRssKb: "1" },
      { ...ok, result: 1 },
      { ...ok, id: 7 },
      { ...ok, ok: "yes" },
      { type: "result", id: "1", ok: false, durationMs: 1, maxRssKb: 0 },
      { type: "nonsense" },
      null,
      [],
    ]) {
      expect(() => parseRuntimeMessage(JSON.stringify(bad))).toThrow();
    }
  });

  it("parses error results and the start-up messages", () => {
    const err = {
      type: "result",
      id: "1",
      ok: false,
      errorCode: 4002,
      error: { errorMessage: "boom", errorType: "Error" },
      durationMs: 1,
      maxRssKb: 10,
    };
    expect(parseRuntimeMessage(JSON.stringify(err))).toEqual(err);
    expect(parseRuntimeMessage('{"type":"ready"}')).toEqual({ type: "ready" });
    expect(parseRuntimeMessage('{"type":"loaded"}')).toEqual({ type: "loaded" });
  });
});
