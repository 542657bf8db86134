import { describe, expect, test } from "bun:test";
import { z } from "zod";
import {
  Backoff,
  durationSchema,
  formatDuration,
  Listeners,
  OptionsError,
  parseDuration,
  parseOptions,
  tryParseDuration,
} from "../src/index.ts";

describe("durations", () => {
  test.each([
    [1500, 1500],
    [0, 0],
    ["250ms", 250],
    ["2s", 2000],
    ["1.5s", 1500],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1m30s", 90_000],
    ["1m 30s", 90_000],
    [" 2s ", 2000],
  ])("%p is %p ms", (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  test.each([
    ["2 seconds"],
    ["500"],
    [""],
    ["-1s"],
    [-5],
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
    [null],
    [{}],
    ["1x"],
  ])("%p is not a duration", (input) => {
    expect(tryParseDuration(input)).toBeUndefined();
    expect(() => parseDuration(input as never, "interval")).toThrow(
      /interval: .* is not a duration; use milliseconds/,
    );
  });

  test("formatDuration is short and readable", () => {
    expect([950, 2500, 90_000, 7_200_000].map(formatDuration)).toEqual([
      "950ms",
      "2.5s",
      "1.5m",
      "2h",
    ]);
  });
});

describe("Backoff", () => {
  test("doubles from initial up to max, and reset starts over", () => {
    const b = new Backoff({ initial: 100, max: 1000 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(b.attempt).toBe(6);
    b.reset();
    expect(b.next()).toBe(100);
  });

  test("jitter stays within its fraction of the nominal delay", () => {
    const low = new Backoff({ initial: 100, max: 1000, jitter: 0.5, random: () => 0.999999 });
    const high = new Backoff({ initial: 100, max: 1000, jitter: 0.5, random: () => 0 });
    expect(low.next()).toBeCloseTo(50, 3);
    expect(high.next()).toBe(100);
    const real = new Backoff({ initial: 1000, max: 1000, jitter: 1 });
    for (let i = 0; i < 100; i++) {
      const d = real.next();
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });

  test("does not overflow after many failures", () => {
    const b = new Backoff({ initial: 1, max: 5000 });
    for (let i = 0; i < 2000; i++) b.next();
    expect(b.next()).toBe(5000);
  });
});

describe("Listeners", () => {
  test("a throwing or rejecting listener is reported and the others still run", async () => {
    const errors: unknown[] = [];
    const seen: number[] = [];
    const set = new Listeners<[number]>((e) => errors.push(e));
    set.add((n) => seen.push(n));
    set.add(() => {
      throw new Error("bad listener");
    });
    set.add(async () => {
      throw new Error("bad async listener");
    });
    const off = set.add((n) => seen.push(n * 10));
    set.emit(1);
    off();
    off();
    set.emit(2);
    await Bun.sleep(0);
    expect(seen).toEqual([1, 10, 2]);
    // Rejections arrive a microtask later than throws, so compare without order.
    expect(errors.map((e) => (e as Error).message).sort()).toEqual([
      "bad async listener",
      "bad async listener",
      "bad listener",
      "bad listener",
    ]);
  });
});

describe("parseOptions", () => {
  const schema = z.strictObject({
    every: durationSchema({ positive: true }),
    mode: z.enum(["a", "b"]).optional(),
  });

  test("names the option, the value and what is allowed", () => {
    const error = (() => {
      try {
        parseOptions(schema, { every: "soon", mode: "c", colour: 1 }, "Thing");
      } catch (e) {
        return e as OptionsError;
      }
    })();
    expect(error).toBeInstanceOf(OptionsError);
    expect(error).toBeInstanceOf(TypeError);
    expect(error?.message).toContain(
      'Thing: option "every" got "soon": expected a duration greater than 0',
    );
    expect(error?.message).toContain('option "mode" got "c": expected one of "a", "b"');
    expect(error?.message).toContain(
      'option "colour" got 1: expected no such option; known options are every, mode',
    );
    expect(error?.issues.map((i) => i.option)).toEqual(["every", "mode", "colour"]);
  });

  test("a missing option says so", () => {
    expect(() => parseOptions(schema, {}, "Thing")).toThrow('Thing: option "every" is missing');
  });

  test("returns the parsed output", () => {
    expect(parseOptions(schema, { every: "2s" }, "Thing")).toEqual({ every: 2000 });
  });
});
