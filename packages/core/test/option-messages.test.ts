import { describe, expect, test } from "bun:test";
import { z } from "zod";
import { backoffSchema, durationSchema, MIN_BACKOFF_MS, parseOptions } from "../src/index.ts";

/** The message `parseOptions` throws for `input`. */
function message(schema: z.ZodType, input: unknown): string {
  try {
    parseOptions(schema, input, "Thing");
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected an OptionsError");
}

describe("backoffSchema", () => {
  const schema = z.strictObject({ initialBackoff: backoffSchema() });

  test("refuses less than MIN_BACKOFF_MS (10 ms), naming the value and the range", () => {
    expect(MIN_BACKOFF_MS).toBe(10);
    for (const bad of [0, 9.99, "0ms", "5ms"]) {
      expect(message(schema, { initialBackoff: bad })).toBe(
        `Thing: option "initialBackoff" got ${JSON.stringify(bad)}: expected a duration from 10ms to 24 days (milliseconds as a number, or a string like "250ms", "2s", "5m", "1m30s")`,
      );
    }
    expect(message(schema, { initialBackoff: "30d" })).toContain("timers cannot wait longer");
  });

  test("accepts 10 ms and more, in milliseconds or as text", () => {
    expect(parseOptions(schema, { initialBackoff: 10 }, "Thing")).toEqual({ initialBackoff: 10 });
    expect(parseOptions(schema, { initialBackoff: "1.5s" }, "Thing")).toEqual({
      initialBackoff: 1500,
    });
  });

  test("durationSchema without min still takes 0, and positive still refuses it", () => {
    expect(parseOptions(z.object({ d: durationSchema() }), { d: 0 }, "Thing")).toEqual({ d: 0 });
    expect(message(z.object({ d: durationSchema({ positive: true }) }), { d: 0 })).toContain(
      "expected a duration greater than 0",
    );
  });
});

describe("zod's default messages are replaced", () => {
  test("a union without a message lists what each member takes", () => {
    const schema = z.object({ env: z.record(z.string(), z.union([z.string(), z.undefined()])) });
    expect(message(schema, { env: { PORT: 3000 } })).toBe(
      'Thing: option "env.PORT" got 3000: expected a string or undefined',
    );
    const either = z.object({ size: z.union([z.number(), z.boolean()]) });
    expect(message(either, { size: "big" })).toBe(
      'Thing: option "size" got "big": expected a number or true or false',
    );
  });

  test("a type without a message is said in words", () => {
    expect(message(z.object({ n: z.number() }), { n: "1" })).toBe(
      'Thing: option "n" got "1": expected a number',
    );
    expect(message(z.object({}), [])).toBe("Thing: value got []: expected an object");
    expect(message(z.object({ on: z.boolean() }), { on: 1 })).toBe(
      'Thing: option "on" got 1: expected true or false',
    );
  });
});
