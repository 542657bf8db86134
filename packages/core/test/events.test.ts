import { describe, expect, test } from "bun:test";
import {
  Emitter,
  Listeners,
  OptionsError,
  Reporter,
  SpecterError,
  StateCell,
} from "../src/index.ts";

type Events = { tick: [n: number]; done: [] };

describe("Emitter", () => {
  test("on() delivers typed events and returns an unsubscribe that is safe to call twice", () => {
    const e = new Emitter<Events>(["tick", "done"], "Thing", () => {});
    const got: number[] = [];
    const off = e.on("tick", (n) => {
      got.push(n);
    });
    e.emit("tick", 1);
    off();
    off();
    e.emit("tick", 2);
    expect(got).toEqual([1]);
  });

  test("a listener that throws is reported with its event; the others still run", () => {
    const reported: [string, string][] = [];
    const e = new Emitter<Events>(["tick", "done"], "Thing", (error, event) =>
      reported.push([event, (error as Error).message]),
    );
    const got: number[] = [];
    e.on("tick", () => {
      throw new Error("first");
    });
    e.on("tick", (n) => {
      got.push(n);
    });
    e.on("done", () => Promise.reject(new Error("async")));
    e.emit("tick", 7);
    e.emit("done");
    return Promise.resolve().then(() => {
      expect(got).toEqual([7]);
      expect(reported).toEqual([
        ["tick", "first"],
        ["done", "async"],
      ]);
    });
  });

  test("an unknown event or a listener that is not a function is an OptionsError naming it", () => {
    const e = new Emitter<Events>(["tick", "done"], 'Thing "x".on()', () => {});
    expect(() => e.on("tock" as "tick", () => {})).toThrow(OptionsError);
    expect(() => e.on("tock" as "tick", () => {})).toThrow(
      'Thing "x".on(): option "event" got "tock": expected one of "tick", "done"',
    );
    expect(() => e.on("toString" as "tick", () => {})).toThrow(/expected one of/);
    expect(() => e.on("tick", 5 as never)).toThrow(
      'Thing "x".on(): option "listener" got 5: expected a function',
    );
  });
});

class TestError extends SpecterError<"poll" | "callback"> {
  static override readonly kind = "thing";
}

describe("Reporter and StateCell", () => {
  test("report() remembers the last error and hands it to the listeners", () => {
    const listeners = new Listeners<[TestError, string]>(() => {});
    const got: string[] = [];
    listeners.add((error, who) => {
      got.push(`${who}: ${error.message}`);
    });
    const reporter = new Reporter(listeners);
    reporter.report(new TestError("w", "poll", "offline"), "w");
    expect(got).toEqual(['w: thing "w": offline']);
    expect(reporter.reported).toBe(1);
    expect(reporter.last).toMatchObject({ message: 'thing "w": offline', phase: "poll" });
    expect(typeof reporter.last?.at).toBe("number");
  });

  test("without listeners an error goes to console.error, never nowhere", () => {
    const reporter = new Reporter(new Listeners<[TestError]>(() => {}));
    const original = console.error;
    const printed: unknown[][] = [];
    console.error = (...args: unknown[]) => printed.push(args);
    try {
      reporter.report(new TestError("w", "poll", "offline"));
    } finally {
      console.error = original;
    }
    expect(printed).toEqual([['[specter] thing "w": offline']]);
  });

  test("callbackFailed() counts a throwing callback and reports it wrapped", () => {
    const listeners = new Listeners<[TestError]>(() => {});
    const got: TestError[] = [];
    listeners.add((e) => {
      got.push(e);
    });
    const reporter = new Reporter(listeners);
    const onError = reporter.callbackFailed(
      (cause) => new TestError("w", "callback", `listener threw: ${cause}`, { cause }),
    );
    const subscribers = new Listeners<[number]>(onError);
    subscribers.add(() => {
      throw "bad";
    });
    subscribers.emit(1);
    expect(reporter.callbackErrors).toBe(1);
    expect(got.map((e) => [e.phase, e.message, e.cause])).toEqual([
      ["callback", 'thing "w": listener threw: bad', "bad"],
    ]);
  });

  test("StateCell emits (state, previous) only on a change", () => {
    const listeners = new Listeners<["a" | "b", "a" | "b"]>(() => {});
    const seen: string[] = [];
    listeners.add((s, p) => {
      seen.push(`${p}->${s}`);
    });
    const cell = new StateCell<"a" | "b">("a", listeners);
    expect(cell.set("a")).toBe(false);
    expect(cell.set("b")).toBe(true);
    expect(cell.setQuietly("a")).toBe("b");
    expect(cell.value).toBe("a");
    expect(seen).toEqual(["a->b"]);
  });
});
