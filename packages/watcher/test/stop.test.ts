/**
 * stop() waits only for source code that is actually running. A source parked in an await is
 * abandoned at once with its signal aborted; stopTimeout (5 s here) bounds only synchronous code.
 * Bounds are generous (1 s); bench/stop.bench.ts measures the real figures.
 */
import { describe, expect, test } from "bun:test";
import { waitFor } from "@specter/core/testing";
import { type SourceContext, WorkerPool } from "../src/index.ts";
import { parkedPoll, parkedReadable, parkedStream } from "./fixtures/parked.ts";
import { record, stoppedAfterEach } from "./helpers.ts";

const make = stoppedAfterEach();
const PARKED = new URL("./fixtures/parked.ts", import.meta.url);
const PROMPT = 1_000;

/** [started, aborted, cancelled]: written by the source, read here, in either thread. */
const marks = () => new Int32Array(new SharedArrayBuffer(12));

async function timedStop(w: { stop(): Promise<void> }): Promise<number> {
  const t0 = performance.now();
  await w.stop();
  return performance.now() - t0;
}

describe("stop() with a source parked in an await", () => {
  const combos = [
    ["poll", "function"],
    ["poll", "module"],
    ["stream", "function"],
    ["stream", "module"],
  ] as const;

  test.each(combos)(
    "%s source given as a %s: abandoned at once, its signal aborted",
    async (mode, kind) => {
      const seen = marks();
      const exportName = mode === "poll" ? "parkedPoll" : "parkedStream";
      const source =
        kind === "module"
          ? { module: PARKED, export: exportName, args: [seen] }
          : (ctx: SourceContext) => (mode === "poll" ? parkedPoll : parkedStream)(seen, ctx);
      const pool = new WorkerPool({ size: 1 });
      const w = make<unknown>(`parked-${mode}-${kind}`, {
        ...(mode === "poll" ? { poll: source, interval: "1h" } : { stream: source }),
        ...(kind === "module" ? { pool } : {}),
        stopTimeout: "5s",
      } as never);
      const r = record(w);
      w.start();
      await waitFor(() => Atomics.load(seen, 0) === 1);
      if (mode === "stream") await waitFor(() => r.values.length === 1);
      expect(await timedStop(w)).toBeLessThan(PROMPT);
      expect(Atomics.load(seen, 1)).toBe(1);
      expect(w.state).toBe("stopped");
      expect(r.errors).toEqual([]);
      // Nothing was killed: the worker ended because its last session left.
      if (kind === "module") expect(pool.stats()).toEqual({ workers: 0, sessions: 0, deaths: 0 });
    },
  );

  test.each(["function", "module"] as const)(
    "a ReadableStream source given as a %s has its reader cancelled at once",
    async (kind) => {
      const seen = marks();
      const source =
        kind === "module"
          ? { module: PARKED, export: "parkedReadable", args: [seen] }
          : (ctx: SourceContext) => parkedReadable(seen, ctx);
      const w = make<unknown>(`readable-${kind}`, { stream: source, stopTimeout: "5s" } as never);
      const r = record(w);
      w.start();
      await waitFor(() => r.values.length === 1);
      expect(await timedStop(w)).toBeLessThan(PROMPT);
      expect([Atomics.load(seen, 1), Atomics.load(seen, 2)]).toEqual([1, 1]);
    },
  );

  test("an async generator parked forever has return() called, not awaited", async () => {
    let returned = false;
    const w = make("returned", {
      stream: async function* () {
        try {
          yield 1;
          await new Promise(() => {});
        } finally {
          returned = true;
        }
      },
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.values.length === 1);
    expect(await timedStop(w)).toBeLessThan(PROMPT);
    // return() is queued behind the await that never settles: the finally cannot run, and stop()
    // did not wait for it.
    expect(returned).toBe(false);
  });

  test("a late result after stop is never delivered", async () => {
    let resolveLate: (value: number) => void = () => {};
    let streamLate: (value: number) => void = () => {};
    const poll = make("late-poll", {
      poll: () => new Promise<number>((resolve) => (resolveLate = resolve)),
      interval: "1h",
    });
    const stream = make("late-stream", {
      stream: async function* () {
        yield 0;
        yield await new Promise<number>((resolve) => (streamLate = resolve));
      },
    });
    const rp = record(poll);
    const rs = record(stream);
    poll.start();
    stream.start();
    await waitFor(() => rs.values.length === 1);
    await Promise.all([poll.stop(), stream.stop()]);
    resolveLate(1);
    streamLate(1);
    await Bun.sleep(20);
    expect(rp.values).toEqual([]);
    expect(rs.values).toEqual([0]);
  });

  test("a source that reacts to its abort finishes its cleanup in the same turn before stop() resolves", async () => {
    let cleaned = false;
    const w = make("polite", {
      poll: ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener("abort", () => {
            cleaned = true;
            reject(signal.reason);
          }),
        ),
      interval: "1h",
    });
    const r = record(w);
    w.start();
    await Bun.sleep(10);
    await w.stop();
    expect(cleaned).toBe(true);
    expect(r.errors).toEqual([]);
  });

  test("ten watchers stopped one after another (as a Service does) take well under one stopTimeout", async () => {
    const pool = new WorkerPool({ size: 2 });
    const ws = Array.from({ length: 10 }, (_, i) => {
      const seen = marks();
      const w = make<unknown>(`ten-${i}`, {
        stream:
          i % 2
            ? { module: PARKED, export: "parkedStream", args: [seen] }
            : (ctx: SourceContext) => parkedStream(seen, ctx),
        ...(i % 2 ? { pool } : {}),
      } as never);
      const r = record(w);
      w.start();
      return { w, r };
    });
    await waitFor(() => ws.every(({ r }) => r.values.length === 1));
    const t0 = performance.now();
    for (const { w } of ws) await w.stop();
    expect(performance.now() - t0).toBeLessThan(PROMPT);
    expect(pool.stats()).toEqual({ workers: 0, sessions: 0, deaths: 0 });
  });
});

describe("stop() with source code that is running", () => {
  test("a module source stuck in synchronous code is waited for up to stopTimeout, then killed", async () => {
    const pool = new WorkerPool({ size: 1 });
    const seen = marks();
    const w = make("spinning", {
      poll: { module: PARKED, export: "spinning", args: [seen] },
      interval: "1h",
      stopTimeout: "60ms",
      pool,
    });
    w.start();
    await waitFor(() => Atomics.load(seen, 0) === 1);
    const ms = await timedStop(w);
    expect(ms).toBeGreaterThanOrEqual(55);
    expect(ms).toBeLessThan(PROMPT);
    expect(pool.stats()).toEqual({ workers: 0, sessions: 0, deaths: 1 });
  });
});
