import { describe, expect, test } from "bun:test";
import { waitFor } from "@specter/core/testing";
import { record, stoppedAfterEach } from "./helpers.ts";

const make = stoppedAfterEach();

describe("stream mode with a function source", () => {
  test("a generator's items arrive in order; with retry: false an ended stream ends the watcher", async () => {
    const w = make("gen", {
      stream: function* () {
        yield* ["a", "b", "c"];
      },
      retry: false,
    });
    const r = record(w);
    w.start();
    await waitFor(() => w.state === "ended");
    expect(r.values).toEqual(["a", "b", "c"]);
    expect(r.states).toEqual(["idle", "running", "ended"]);
    expect(r.errors).toEqual([]);
  });

  test("async iterables and ReadableStreams are followed too", async () => {
    const a = make("async", {
      stream: async function* () {
        for (let i = 0; i < 3; i++) {
          await Bun.sleep(1);
          yield i;
        }
      },
      retry: false,
    });
    const ra = record(a);
    const b = make("readable", {
      stream: () =>
        new ReadableStream<string>({
          start(c) {
            c.enqueue("x");
            c.enqueue("y");
            c.close();
          },
        }),
      retry: false,
    });
    const rb = record(b);
    a.start();
    b.start();
    await waitFor(() => a.state === "ended" && b.state === "ended");
    expect(ra.values).toEqual([0, 1, 2]);
    expect(rb.values).toEqual(["x", "y"]);
  });

  test("a factory may return a promise of a stream, and gets a signal that aborts on stop", async () => {
    let signal: AbortSignal | undefined;
    const w = make("promised", {
      stream: async (ctx) => {
        signal = ctx.signal;
        return (async function* () {
          yield 1;
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        })();
      },
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.values.length === 1);
    expect(signal?.aborted).toBe(false);
    await w.stop();
    expect(signal?.aborted).toBe(true);
  });

  test("an ended stream is reopened after the backoff delay, growing while it yields nothing", async () => {
    let opens = 0;
    const w = make("empty", {
      stream: () => {
        opens++;
        return [];
      },
      initialBackoff: "10ms",
      maxBackoff: "40ms",
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.delays.length >= 4, { timeout: 3000 });
    expect(r.delays.slice(0, 4).map((d) => Math.round(d / 10) * 10)).toEqual([10, 20, 40, 40]);
    // No busy loop: opens are paced by the backoff.
    expect(opens).toBeLessThanOrEqual(r.delays.length + 1);
    expect(r.errors).toEqual([]);
  });

  test("a stream that delivered items before ending is reopened after the initial delay", async () => {
    let opens = 0;
    const w = make("bursty", {
      stream: function* () {
        opens++;
        yield opens;
      },
      initialBackoff: "10ms",
      maxBackoff: "1s",
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.values.length >= 4, { timeout: 3000 });
    expect(r.values.slice(0, 4)).toEqual([1, 2, 3, 4]);
    expect(r.delays.slice(0, 3).map((d) => Math.round(d / 10) * 10)).toEqual([10, 10, 10]);
  });

  test("a stream that throws is reported and reopened with backoff", async () => {
    let opens = 0;
    const w = make("breaks", {
      stream: function* () {
        opens++;
        yield opens;
        throw new Error("tail lost the file");
      },
      initialBackoff: "10ms",
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.values.length >= 2);
    expect(r.values.slice(0, 2)).toEqual([1, 2]);
    expect(r.errors[0]?.phase).toBe("stream");
    expect(r.errors[0]?.message).toBe('watcher "breaks": stream failed: tail lost the file');
    expect(w.health().errorCount).toBeGreaterThanOrEqual(1);
  });

  test("a stream that throws with retry: false fails the watcher", async () => {
    const w = make("fatal", {
      stream: async function* () {
        yield 1;
        throw new Error("gone");
      },
      retry: false,
    });
    const r = record(w);
    w.start();
    await waitFor(() => w.state === "failed");
    expect(r.values).toEqual([1]);
    expect(r.states).toEqual(["idle", "running", "failed"]);
  });

  test("an endless synchronous generator does not starve the event loop and stops promptly", async () => {
    let i = 0;
    const w = make("endless", {
      stream: function* () {
        for (;;) yield i++;
      },
    });
    let last = -1;
    let inOrder = true;
    w.subscribe((v) => {
      if (v !== last + 1) inOrder = false;
      last = v;
    });
    w.start();
    // A timer firing proves the loop still turns while the generator runs.
    await Bun.sleep(20);
    await waitFor(() => last > 10_000);
    await w.stop();
    const stoppedAt = last;
    await Bun.sleep(10);
    expect(last).toBe(stoppedAt);
    expect(inOrder).toBe(true);
  });

  test("a subscriber that stops the watcher gets no further items", async () => {
    const w = make("self-stop", {
      stream: function* () {
        for (let i = 0; i < 100; i++) yield i;
      },
    });
    const got: number[] = [];
    w.subscribe((v) => {
      got.push(v);
      if (v === 3) void w.stop();
    });
    w.start();
    await waitFor(() => w.state === "stopped");
    expect(got).toEqual([0, 1, 2, 3]);
  });

  test("dedupe and transform apply to stream items", async () => {
    const w = make("dedupe-stream", {
      stream: () => [1, 1, 2, 2, 2, 3, 1],
      transform: (v: number) => ({ v }),
      dedupe: true,
      retry: false,
    });
    const r = record(w);
    w.start();
    await waitFor(() => w.state === "ended");
    expect(r.values).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }, { v: 1 }]);
    expect(w.health()).toMatchObject({ delivered: 4, deduped: 3, mode: "stream" });
    expect(w.health().lastValueAt).toBeGreaterThan(Date.now() - 1000);
  });
});
