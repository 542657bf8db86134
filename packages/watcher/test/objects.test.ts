/**
 * Object items from a worker stream: serialized once when yielded (JSON text for what JSON carries
 * exactly, a structured snapshot for the rest), delivered as they were at the yield, in order.
 */
import { describe, expect, test } from "bun:test";
import { waitFor } from "@specter/core/testing";
import { record, stoppedAfterEach } from "./helpers.ts";

const make = stoppedAfterEach();
const OBJECTS = new URL("./fixtures/objects.ts", import.meta.url);
const source = (name: string, args?: unknown[]) => ({
  module: OBJECTS,
  export: name,
  ...(args ? { args } : {}),
});

async function collect(name: string, args?: unknown[]) {
  const w = make<unknown>(name, { stream: source(name, args), retry: false });
  const r = record(w);
  w.start();
  await waitFor(() => w.state === "ended");
  return r;
}

describe("object items from a worker stream", () => {
  test("plain objects, arrays and mixed items arrive equal and in order", async () => {
    const items = [
      { i: 1, name: "a", ok: true, none: null, nested: { list: [1, "two", false] } },
      [1, { a: 2 }],
      3,
      "four",
      { i: 5 },
      null,
    ];
    const r = await collect("replay", [items]);
    expect(r.values).toStrictEqual(items);
    expect(r.errors).toEqual([]);
  });

  test("a batch that starts with a number keeps later objects as snapshots too", async () => {
    const items = [1, { i: 2 }, [3], { i: 4, deep: { x: [5] } }];
    const r = await collect("replay", [items]);
    expect(r.values).toStrictEqual(items);
  });

  test("values JSON cannot carry exactly arrive as structured clones", async () => {
    const r = await collect("notJson");
    expect(r.errors).toEqual([]);
    const [first, numbers, rich, sparse, bare, point, proto, undef, negZero, text] = r.values as [
      unknown,
      Record<string, number>,
      Record<string, unknown>,
      unknown[],
      unknown,
      unknown,
      Record<string, unknown>,
      unknown,
      number,
      unknown,
    ];
    expect(r.values).toHaveLength(10);
    expect(first).toStrictEqual({ first: true });
    expect(Object.is(numbers.zero, -0)).toBe(true);
    expect(numbers.nan).toBeNaN();
    expect(numbers.inf).toBe(Number.POSITIVE_INFINITY);
    expect("gone" in numbers).toBe(true);
    expect(rich.big).toBe(10n);
    expect(rich.when).toEqual(new Date(0));
    expect(rich.map).toEqual(new Map([[1, "a"]]));
    expect(rich.bytes).toEqual(new Uint8Array([1, 2]));
    expect(1 in sparse).toBe(false);
    expect(sparse).toHaveLength(3);
    expect(bare).toStrictEqual({ x: 1 });
    // A class instance arrives as a plain object, as a structured clone makes it.
    expect(point).toStrictEqual({ x: 1, y: 2 });
    expect(Object.hasOwn(proto, "__proto__")).toBe(true);
    expect(proto.lone).toBe("\ud800");
    expect(undef).toBeUndefined();
    expect(Object.is(negZero, -0)).toBe(true);
    expect(text).toBe("text");
  });

  test("objects and arrays mutated after they were yielded are delivered as they were", async () => {
    const r = await collect("reusing");
    expect(r.values).toStrictEqual([
      { n: 1, tags: ["a", "1"], inner: { deep: [1] } },
      { n: 2, tags: ["a", "1", "2"], inner: { deep: [2] } },
      { n: 3, tags: ["a", "1", "2", "3"], inner: { deep: [3] } },
      [1],
      [2],
    ]);
  });

  test("an object that cannot be cloned is reported in its place; the others arrive", async () => {
    const r = await collect("objectThenUncloneable");
    expect(r.values).toStrictEqual([{ a: 1 }, { a: 3 }]);
    expect(r.errors.map((e) => e.phase)).toEqual(["clone"]);
  });

  test("many batches of objects arrive complete and in order", async () => {
    const count = 50_000;
    const w = make<{ i: number; even: boolean }>("many", {
      stream: source("many", [count]),
      retry: false,
    });
    let next = 0;
    let wrong = 0;
    w.subscribe((v) => {
      if (v.i !== next || v.even !== (next % 2 === 0)) wrong++;
      next++;
    });
    w.start();
    await waitFor(() => w.state === "ended", { timeout: 10_000 });
    expect({ received: next, wrong }).toEqual({ received: count, wrong: 0 });
  });
});
