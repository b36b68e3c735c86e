import { describe, expect, it } from "vitest";
import {
  createInvokeWriter,
  parseRuntimeMessage,
  type InvokeMessage,
} from "../../src/runtimes/messages.js";
import { callId } from "../../src/runtimes/instance-calls.js";
import type { InvokeContext } from "../../src/runtimes/types.js";
import { makeContext } from "./helpers.js";

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
    expect(parseRuntimeMessage('{"type":"ready","baseContext":true}')).toEqual({
      type: "ready",
      baseContext: true,
    });
    expect(() => parseRuntimeMessage('{"type":"ready","baseContext":"yes"}')).toThrow();
    expect(parseRuntimeMessage('{"type":"loaded"}')).toEqual({ type: "loaded" });
  });
});

describe("the invoke writer", () => {
  // One object for every call, as the invoker hands out one per version: compared by identity.
  const sameUserData = Object.freeze({ A: "1" });
  const context = (over: Partial<InvokeContext> = {}): InvokeContext =>
    makeContext({
      requestId: "01a2293a-18ec-7044-98b8-1520d8a10fe4",
      deadline: 1764452003123.456,
      userData: sameUserData,
      ...over,
    });
  const invoke = (id: string, event: string, ctx: InvokeContext): InvokeMessage => ({
    type: "invoke",
    id,
    event,
    context: ctx,
  });
  /** The same value as JSON.stringify gives (key order aside). */
  const same = (json: string, m: InvokeMessage) =>
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(m)));

  it("writes what JSON.stringify writes, call after call, as the fixed part changes", () => {
    const write = createInvokeWriter();
    const userData = Object.freeze({ KEY: 'va"lue\n', ü: "ß" });
    const calls: InvokeContext[] = [
      context(),
      context({ requestId: "2", deadline: 5 }),
      context({ headers: { "x-cff-workflow-id": 'w"1' } }),
      // Each fixed field changing alone, and back: the cached part must follow every time.
      ...(
        [
          { functionName: "g" },
          { version: "3" },
          { alias: "live" },
          { package: 'p"k' },
          { projectId: "\u2028" },
          { memorySize: 512 },
          { cpuMillicores: 1200 },
          { timeoutSeconds: 900 },
          { invokeType: "async" },
          { userData },
          { userData: { ...userData } },
          { accessKey: "ak" },
          { secretKey: "sk" },
          { securityToken: "st" },
          { authToken: "at" },
        ] satisfies Partial<InvokeContext>[]
      ).flatMap((over) => [context(over), context()]),
    ];
    expect(calls).toHaveLength(3 + 15 * 2);
    calls.forEach((c, i) => {
      const m = invoke(String(i), `{"n":${i},"s":"quote \\" and \\n"}`, c);
      const json = write(m);
      same(json, m);
    });
  });

  it("writes null for a deadline that is not finite, and leaves out undefined fields", () => {
    const write = createInvokeWriter();
    for (const deadline of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const m = invoke("1", "{}", context({ deadline }));
      same(write(m), m);
      expect(JSON.parse(write(m))).toHaveProperty("context.deadline", null);
    }
    const sparse = context({ alias: undefined as unknown as string });
    const m = invoke("2", "{}", sparse);
    const json = write(m);
    same(json, m);
    expect((JSON.parse(json) as InvokeMessage).context).not.toHaveProperty("alias");
    // Every fixed field undefined: no stray comma.
    const bare = Object.fromEntries(
      Object.entries(context()).map(([k, v]) =>
        ["requestId", "deadline", "headers"].includes(k) ? [k, v] : [k, undefined],
      ),
    ) as unknown as InvokeContext;
    const b = invoke("3", "{}", bare);
    same(write(b), b);
  });

  it("with a base (runtimes that said baseContext): the fixed part goes ahead, once per change", () => {
    const write = createInvokeWriter();
    const frames: string[] = [];
    const sendBase = (json: string) => frames.push(json);
    /** What a runtime makes of the frames so far, as PROTOCOL.md says (the Node shim's rule). */
    let base: Record<string, unknown> | undefined;
    const received = (json: string): Record<string, unknown> => {
      for (const f of frames.splice(0)) {
        const msg = JSON.parse(f) as { type: string; context: Record<string, unknown> };
        expect(msg.type).toBe("context");
        base = msg.context;
      }
      const c = (JSON.parse(json) as { context: Record<string, unknown> }).context;
      return c["functionName"] === undefined ? { ...base, ...c } : c;
    };
    const calls = [
      context(),
      context({ requestId: "2", deadline: 5 }),
      context({ alias: "live", headers: { "x-cff-workflow-id": "w" } }),
      context({ alias: "live", requestId: "3" }),
      context({ invokeType: "async" }),
      context(),
    ];
    const bases: number[] = [];
    calls.forEach((c, i) => {
      const m = invoke(callId(i), "{}", c);
      const json = write(m, sendBase);
      bases.push(frames.length);
      // No fixed field in the invoke itself.
      expect(JSON.parse(json)).not.toHaveProperty("context.functionName");
      expect(received(json)).toEqual(JSON.parse(JSON.stringify(c)));
    });
    // A base before the first call and at each change of the fixed part, none otherwise.
    expect(bases).toEqual([1, 0, 1, 0, 1, 1]);
    // An invoke written whole (another shape) still has this call's fixed part as the base.
    const odd = invoke(
      callId(9),
      "{}",
      context({ version: "v9", requestId: 1 as unknown as string }),
    );
    const json = write(odd, sendBase);
    expect(json).toBe(JSON.stringify(odd));
    expect(frames).toHaveLength(1);
    expect(received(json)).toEqual(JSON.parse(JSON.stringify(odd.context)));
    expect(base).toMatchObject({ version: "v9" });
  });

  it("falls back to JSON.stringify for a message of another shape", () => {
    const write = createInvokeWriter();
    const odd = invoke("1", "{}", context({ headers: null as unknown as Record<string, string> }));
    expect(write(odd)).toBe(JSON.stringify(odd));
    const noId = invoke("1", "{}", context({ requestId: undefined as unknown as string }));
    expect(write(noId)).toBe(JSON.stringify(noId));
  });
});

describe("callId", () => {
  it("is unique per call, over ten characters and not all digits, so JSON.parse does not intern it", () => {
    const ids = [1, 2, 9, 10, 99_999, 8_999_999_999, 2 ** 40].map(callId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id.length, id).toBeGreaterThan(10);
      expect(id, id).toMatch(/\D/);
    }
    // What the runtime gets back from a frame is the same string.
    expect(parseRuntimeMessage(JSON.stringify({ ...ok, id: callId(3) }))).toMatchObject({
      id: "c1000000003",
    });
  });
});
