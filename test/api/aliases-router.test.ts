import { describe, expect, it } from "vitest";
import {
  createSeededRandom,
  routeAlias,
  strategyMatches,
  type RandomSource,
} from "../../src/api/alias-router.js";
import type { AliasStrategy, FunctionAlias } from "../../src/core/types.js";

type Targets = Pick<
  FunctionAlias,
  "version" | "additionalVersionWeights" | "additionalVersionStrategy"
>;
const alias = (t: Partial<Targets>): Targets => ({
  version: "v1",
  additionalVersionWeights: {},
  additionalVersionStrategy: {},
  ...t,
});
const never: RandomSource = () => {
  throw new Error("random must not be drawn");
};

describe("alias router", () => {
  it("is deterministic for a seed and uniform enough", () => {
    const a = createSeededRandom(42);
    const b = createSeededRandom(42);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
  });

  it("sends w% of calls to the additional version (seeded, 10,000 draws)", () => {
    for (const w of [0, 1, 30, 50, 99, 100]) {
      const random = createSeededRandom(7 + w);
      const a = alias({ additionalVersionWeights: { v2: w } });
      let extra = 0;
      for (let i = 0; i < 10_000; i++) {
        const d = routeAlias(a, {}, random);
        if (d.version === "v2") {
          extra++;
          expect(d.reason).toBe("weight");
        } else expect(d).toEqual({ version: "v1", reason: "main" });
      }
      // Binomial sd at p=0.5 is 50 calls; 4 sd = 200 calls = 2 points.
      expect(Math.abs(extra / 100 - w)).toBeLessThanOrEqual(2);
      if (w === 0) expect(extra).toBe(0);
      if (w === 100) expect(extra).toBe(10_000);
    }
  });

  it("goes to the main version with no weights and no rules, drawing nothing", () => {
    expect(routeAlias(alias({}), { "x-a": "1" }, never)).toEqual({
      version: "v1",
      reason: "main",
    });
  });

  const strategy = (s: Partial<AliasStrategy>): AliasStrategy => ({
    combineType: "and",
    rules: [],
    ...s,
  });

  it("matches = and in, header names case-insensitively, values exactly", () => {
    const eq = strategy({
      rules: [{ ruleType: "header", param: "X-User", op: "=", value: "Bob" }],
    });
    expect(strategyMatches(eq, { "x-user": "Bob" })).toBe(true);
    expect(strategyMatches(eq, { "x-user": "bob" })).toBe(false);
    expect(strategyMatches(eq, {})).toBe(false);
    const inn = strategy({
      rules: [{ ruleType: "header", param: "x-region", op: "in", value: "eu, us ,ap" }],
    });
    expect(strategyMatches(inn, { "x-region": "us" })).toBe(true);
    expect(strategyMatches(inn, { "x-region": "ap" })).toBe(true);
    expect(strategyMatches(inn, { "x-region": "cn" })).toBe(false);
    expect(strategyMatches(strategy({ rules: [] }), { a: "b" })).toBe(false);
  });

  it("combines rules with and / or", () => {
    const rules = [
      { ruleType: "header" as const, param: "a", op: "=" as const, value: "1" },
      { ruleType: "header" as const, param: "b", op: "in" as const, value: "2,3" },
    ];
    const and = strategy({ combineType: "and", rules });
    const or = strategy({ combineType: "or", rules });
    expect(strategyMatches(and, { a: "1", b: "3" })).toBe(true);
    expect(strategyMatches(and, { a: "1" })).toBe(false);
    expect(strategyMatches(or, { a: "1" })).toBe(true);
    expect(strategyMatches(or, { b: "2" })).toBe(true);
    expect(strategyMatches(or, { a: "2", b: "4" })).toBe(false);
  });

  it("matches cookie rules against the Cookie header", () => {
    const s = strategy({ rules: [{ ruleType: "cookie", param: "tier", op: "=", value: "gold" }] });
    expect(strategyMatches(s, { cookie: "a=1; tier=gold" })).toBe(true);
    expect(strategyMatches(s, { cookie: "tier=silver" })).toBe(false);
  });

  it("checks rules first, then weights", () => {
    const a = alias({
      additionalVersionWeights: { v2: 0 },
      additionalVersionStrategy: {
        v2: strategy({ rules: [{ ruleType: "header", param: "x-canary", op: "=", value: "yes" }] }),
      },
    });
    expect(routeAlias(a, { "x-canary": "yes" }, never)).toEqual({ version: "v2", reason: "rule" });
    expect(routeAlias(a, { "x-canary": "no" }, () => 0)).toEqual({
      version: "v1",
      reason: "main",
    });
    const weighted = { ...a, additionalVersionWeights: { v2: 100 } };
    expect(routeAlias(weighted, {}, () => 0.999)).toEqual({ version: "v2", reason: "weight" });
  });
});
