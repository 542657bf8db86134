import { describe, expect, test } from "bun:test";
import { fastParse } from "../src/fast-parse.ts";
import { OptionsError, Watcher, WorkerPool } from "../src/index.ts";
import { zodParse } from "../src/options-schema.ts";
import { SOURCES } from "./helpers.ts";

function errorOf(fn: () => unknown): OptionsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OptionsError);
    return e as OptionsError;
  }
  throw new Error("expected an OptionsError");
}

const poll = () => 1;

describe("Watcher options", () => {
  test("poll and stream together is an error naming both", () => {
    const e = errorOf(() => new Watcher("x", { poll, stream: () => [1], interval: 10 } as never));
    expect(e.message).toBe(
      'Watcher "x": option "stream" got a function (stream): expected either "poll" or "stream", not both',
    );
  });

  test("neither poll nor stream is an error that shows what to pass", () => {
    const e = errorOf(() => new Watcher("x", {} as never));
    expect(e.message).toContain(
      'option "poll" is missing: expected "poll" or "stream": a function, or a module source',
    );
  });

  test("poll mode needs an interval", () => {
    expect(() => new Watcher("x", { poll } as never)).toThrow(
      'option "interval" is missing: expected a duration such as "2s"',
    );
  });

  test.each([["2 seconds"], [-5], [0], ["0s"], [true]])(
    "interval %p is rejected with the accepted forms",
    (interval) => {
      const e = errorOf(() => new Watcher("x", { poll, interval: interval as never }));
      expect(e.issues[0]?.option).toBe("interval");
      expect(e.message).toContain(
        "expected a duration greater than 0 (milliseconds as a number, or a string like",
      );
    },
  );

  test("every duration option is validated", () => {
    const e = errorOf(
      () =>
        new Watcher("x", {
          poll,
          interval: "1s",
          timeout: "never",
          initialBackoff: -1,
          maxBackoff: "1 minute",
          stopTimeout: "x",
        }),
    );
    expect(e.issues.map((i) => i.option).sort()).toEqual([
      "initialBackoff",
      "maxBackoff",
      "stopTimeout",
      "timeout",
    ]);
  });

  test("maxBackoff below initialBackoff is rejected", () => {
    expect(
      () => new Watcher("x", { poll, interval: 10, initialBackoff: "2s", maxBackoff: "1s" }),
    ).toThrow('option "maxBackoff" got "1s": expected at least initialBackoff (2000ms)');
  });

  test.each([
    ["initialBackoff", 0, "0"],
    ["initialBackoff", "1ms", '"1ms"'],
    ["initialBackoff", 9.5, "9.5"],
    ["maxBackoff", "5ms", '"5ms"'],
  ])("%s %p is under the 10 ms backoff floor", (option, value, shown) => {
    const options = { poll: { module: SOURCES }, interval: 10, isolation: "process" as const };
    expect(() => new Watcher("x", { ...options, initialBackoff: 10, [option]: value })).toThrow(
      `option "${option}" got ${shown}: expected a duration from 10ms to 24 days`,
    );
  });

  test("the backoff floor: the zod-free path and zod agree on either side of 10 ms", () => {
    for (const [initialBackoff, maxBackoff] of [[0], [1], [9], ["9ms"], [10, 9], [20, "1ms"]]) {
      const o = { poll, interval: 10, initialBackoff, maxBackoff };
      expect([fastParse(o), zodParse(o)]).toEqual([undefined, undefined]);
    }
    for (const [initialBackoff, maxBackoff] of [
      [10],
      ["10ms", "10ms"],
      [10.5, 11],
      ["1s", 10_000],
    ]) {
      const o = { poll, interval: 10, initialBackoff, maxBackoff };
      const fast = fastParse(o);
      expect(fast).toBeDefined();
      expect(fast?.initialBackoff).toBe(zodParse(o)?.initialBackoff as number);
      expect(fast?.maxBackoff).toBe(zodParse(o)?.maxBackoff);
    }
    // A positive duration under 1 ms is still positive, for both.
    expect(fastParse({ poll, interval: 0.5 })?.interval).toBe(0.5);
    expect(zodParse({ poll, interval: 0.5 })?.interval).toBe(0.5);
  });

  test("durations longer than a timer can wait are rejected", () => {
    expect(() => new Watcher("x", { poll, interval: "25d" })).toThrow(
      'option "interval" got "25d": expected a duration up to 24 days (2147483647ms): timers cannot wait longer',
    );
  });

  test("worker and pool are for module sources only", () => {
    expect(() => new Watcher("x", { poll, interval: 10, worker: "dedicated" })).toThrow(
      'option "worker" got "dedicated": expected no "worker" for a function source',
    );
    expect(() => new Watcher("x", { poll, interval: 10, pool: new WorkerPool() })).toThrow(
      'no "pool" for a function source',
    );
    expect(
      () =>
        new Watcher("x", { poll: { module: SOURCES }, interval: 10, pool: { attach: 1 } as never }),
    ).toThrow('option "pool" got { attach: 1 }: expected a WorkerPool');
  });

  test("unknown options are named with the known ones", () => {
    const e = errorOf(() => new Watcher("x", { poll, interval: 10, intervl: 5 } as never));
    expect(e.message).toContain(
      'option "intervl" got 5: expected no such option; known options are poll, stream, interval',
    );
  });

  test("stream mode rejects poll-only options", () => {
    expect(() => new Watcher("x", { stream: () => [], interval: 10 } as never)).toThrow(
      '"interval" is for poll mode',
    );
    expect(() => new Watcher("x", { stream: () => [], timeout: 10 } as never)).toThrow(
      '"timeout" limits each poll',
    );
  });

  test.each([
    ["jitter", 2, "true, false, or a number from 0 to 1"],
    ["dedupe", "yes", "true, false, or a function (previous, next) => boolean"],
    ["retry", "no", "true or false"],
    ["worker", "own", 'one of "shared", "dedicated"'],
    ["transform", 5, "a function (value) => newValue"],
  ])("%s: %p is rejected", (option, value, expected) => {
    expect(() => new Watcher("x", { poll, interval: 10, [option]: value })).toThrow(
      `option "${option}" got ${JSON.stringify(value)}: expected ${expected}`,
    );
  });

  test("the name must be a non-empty string", () => {
    expect(() => new Watcher("", { poll, interval: 10 })).toThrow(
      'Watcher: option "name" got "": expected a non-empty string',
    );
    expect(() => new Watcher(42 as never, { poll, interval: 10 })).toThrow('option "name" got 42');
  });

  test("module sources: relative paths, missing files and uncloneable args are rejected up front", () => {
    expect(() => new Watcher("x", { poll: { module: "./sensor.ts" }, interval: 10 })).toThrow(
      'option "poll.module" got "./sensor.ts": expected a URL or an absolute path; a relative path is ambiguous in a worker: use new URL("./source.ts", import.meta.url)',
    );
    expect(
      () => new Watcher("x", { poll: { module: "/nowhere/sensor.ts" }, interval: 10 }),
    ).toThrow('option "poll.module" got "/nowhere/sensor.ts": expected a module that exists');
    expect(
      () => new Watcher("x", { poll: { module: SOURCES, args: [() => 1] }, interval: 10 }),
    ).toThrow('option "poll.args" got [ [Function] ]: expected structured-clonable arguments');
    expect(
      () => new Watcher("x", { poll: { module: SOURCES, exprt: "a" } as never, interval: 10 }),
    ).toThrow(
      'option "poll.exprt" got "a": expected no such option; known options are module, export, args',
    );
  });

  test("a rejected watcher starts nothing", () => {
    const pool = new WorkerPool();
    expect(() => new Watcher("x", { poll: { module: SOURCES }, interval: -1, pool })).toThrow(
      OptionsError,
    );
    expect(pool.stats()).toEqual({ workers: 0, sessions: 0, deaths: 0 });
  });

  test("WorkerPool options are validated too", () => {
    expect(() => new WorkerPool({ size: 0 })).toThrow('WorkerPool: option "size" got 0');
    expect(() => new WorkerPool({ hangGrace: "soon" })).toThrow(
      'WorkerPool: option "hangGrace" got "soon"',
    );
  });
});
