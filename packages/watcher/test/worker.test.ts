import { describe, expect, test } from "bun:test";
import { waitFor } from "@specter/core/testing";
import { WorkerPool } from "../src/index.ts";
import { record, SOURCES, stoppedAfterEach } from "./helpers.ts";

const make = stoppedAfterEach();

const source = (name: string, args?: unknown[]) => ({
  module: SOURCES,
  export: name,
  ...(args ? { args } : {}),
});
const FIXTURES = new URL("./fixtures/", import.meta.url);

describe("module sources in workers", () => {
  test("a poll runs in a shared worker; args are passed before the context", async () => {
    const pool = new WorkerPool({ size: 2 });
    const w = make("echo", { poll: source("echo", ["a", { b: 2 }]), interval: "1h", pool });
    const r = record(w);
    w.start();
    await waitFor(() => r.values.length === 1);
    expect(r.values[0]).toEqual(["a", { b: 2 }]);
    expect(w.health().isolation).toBe("shared-worker");
    expect(pool.stats()).toEqual({ workers: 1, sessions: 1, deaths: 0 });
    await w.stop();
    expect(pool.stats()).toEqual({ workers: 0, sessions: 0, deaths: 0 });
  });

  test("a thenable from a module poll is awaited; a plain value needs none", async () => {
    const w = make("thenable", { poll: source("thenable"), interval: "1h" });
    const r = record(w);
    w.start();
    await waitFor(() => r.values.length === 1);
    expect(r.values).toEqual([5]);
  });

  test("a module poll's signal read only after its timeout is already aborted", async () => {
    const flags = new Int32Array(new SharedArrayBuffer(4));
    const late = make("late", {
      poll: source("signalLater", [80, flags]),
      interval: "1h",
      timeout: "20ms",
      initialBackoff: "1h",
    });
    const r = record(late);
    late.start();
    await waitFor(() => Atomics.load(flags, 0) !== 0, { timeout: 5000 });
    expect(Atomics.load(flags, 0)).toBe(1);
    expect(r.errors[0]?.phase).toBe("timeout");
    const prompt = new Int32Array(new SharedArrayBuffer(4));
    const ok = make("ok", { poll: source("signalLater", [0, prompt]), interval: "1h" });
    const r2 = record(ok);
    ok.start();
    await waitFor(() => r2.values.length === 1);
    expect(Atomics.load(prompt, 0)).toBe(2);
  });

  test("many watchers share the pool's few workers", async () => {
    const pool = new WorkerPool({ size: 2 });
    const ws = Array.from({ length: 20 }, (_, i) =>
      make(`c${i}`, { poll: source("counter"), interval: "5ms", pool }),
    );
    const seen = new Set<string>();
    for (const w of ws) w.subscribe(() => seen.add(w.name));
    for (const w of ws) w.start();
    await waitFor(() => seen.size === 20);
    expect(pool.stats()).toMatchObject({ workers: 2, sessions: 20 });
    await Promise.all(ws.map((w) => w.stop()));
    expect(pool.stats()).toMatchObject({ workers: 0, sessions: 0 });
  });

  test('worker: "dedicated" gives the watcher a worker of its own, gone after stop', async () => {
    const w = make("own", {
      poll: source("constant"),
      interval: "1h",
      worker: "dedicated",
      dedupe: true,
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.values.length === 1);
    expect(r.values[0]).toEqual({ ok: true, nested: [1, 2, 3] });
    expect(w.health().isolation).toBe("dedicated-worker");
    await w.stop();
  });

  test("dedupe compares values copied out of the worker structurally", async () => {
    const w = make("same", { poll: source("constant"), interval: "2ms", dedupe: true });
    const r = record(w);
    w.start();
    await waitFor(() => w.health().deduped >= 3);
    expect(r.values.length).toBe(1);
  });

  test("a value that cannot be cloned is an error that says so", async () => {
    const w = make("fn-value", { poll: source("notCloneable"), interval: "1h", retry: false });
    const r = record(w);
    w.start();
    await waitFor(() => w.state === "failed");
    expect(r.errors[0]?.phase).toBe("clone");
    expect(r.errors[0]?.message).toContain("the poll's value cannot leave the worker");
    expect(r.errors[0]?.message).toContain("return plain data");
  });

  test("a throwing poll in a worker is retried with its error message and stack", async () => {
    const w = make("throws", { poll: source("throws"), interval: "1h", initialBackoff: "10ms" });
    const r = record(w);
    w.start();
    await waitFor(() => r.errors.length >= 2);
    expect(r.errors[0]?.message).toBe('watcher "throws": poll failed: sensor unplugged');
    expect((r.errors[0]?.cause as Error | undefined)?.stack).toContain("sources.ts");
    expect(w.state).toMatch(/backoff|running/);
  });

  test("a poll stuck in synchronous code is killed at its timeout; the other watchers on that worker carry on", async () => {
    const pool = new WorkerPool({ size: 1 });
    const healthy = make("healthy", { poll: source("counter"), interval: "5ms", pool });
    const hung = make("hung", {
      poll: source("hangSync"),
      interval: "1h",
      timeout: "50ms",
      initialBackoff: "1h",
      pool,
    });
    const rh = record(healthy);
    const rx = record(hung);
    healthy.start();
    await waitFor(() => rh.values.length >= 1);
    hung.start();
    await waitFor(() => rx.errors.length === 1);
    expect(rx.errors[0]?.phase).toBe("timeout");
    expect(hung.state).toBe("backoff");
    await waitFor(() => pool.stats().deaths === 1);
    const before = rh.values.length;
    await waitFor(() => rh.values.length >= before + 3);
    const h = healthy.health();
    expect(h.workerRestarts).toBe(1);
    expect(h.lastWorkerRestart?.reason).toBe(
      'worker killed: the source of watcher "hung" was stuck in synchronous code',
    );
    expect(h.errorCount).toBe(0);
    // The hung watcher rejoins a worker at its next poll, after its backoff.
    expect(pool.stats()).toMatchObject({ workers: 1, sessions: 1, deaths: 1 });
  });

  test("a poll that never settles is killed hangGrace after its timeout; its neighbours move to a new worker", async () => {
    const pool = new WorkerPool({ size: 1, hangGrace: "30ms" });
    const healthy = make("healthy", { poll: source("counter"), interval: "5ms", pool });
    const lazy = make("lazy", {
      poll: source("hangAsync"),
      interval: "1h",
      timeout: "20ms",
      initialBackoff: "1h",
      pool,
    });
    const rh = record(healthy);
    const rl = record(lazy);
    healthy.start();
    await waitFor(() => rh.values.length >= 1);
    lazy.start();
    await waitFor(() => pool.stats().deaths === 1);
    expect(rl.errors.map((e) => e.phase)).toEqual(["timeout"]);
    const before = rh.values.length;
    await waitFor(() => rh.values.length >= before + 2);
    expect(healthy.health().lastWorkerRestart?.reason).toBe(
      'worker killed: the source of watcher "lazy" did not settle within 30ms after its poll timed out and was aborted',
    );
  });

  test("a poll that honours its abort signal is not killed at its timeout", async () => {
    const pool = new WorkerPool({ size: 1, hangGrace: "200ms" });
    const w = make("polite", {
      poll: source("waitForAbort"),
      interval: "1h",
      timeout: "20ms",
      initialBackoff: "10ms",
      pool,
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.errors.length >= 3, { timeout: 3000 });
    expect(r.errors.every((e) => e.phase === "timeout")).toBe(true);
    expect(pool.stats().deaths).toBe(0);
  });

  test("the worker stuck in another watcher's synchronous code is blamed on that watcher", async () => {
    const pool = new WorkerPool({ size: 1, hangGrace: "20ms" });
    const quick = make("quick", {
      poll: source("counter"),
      interval: "5ms",
      timeout: "50ms",
      pool,
    });
    const hog = make("hog", {
      poll: source("hangSync"),
      interval: "1h",
      initialBackoff: "1h",
      pool,
    });
    const rq = record(quick);
    const rh = record(hog);
    quick.start();
    await waitFor(() => rq.values.length >= 1);
    hog.start();
    await waitFor(() => rh.errors.length === 1);
    expect(rh.errors[0]?.phase).toBe("worker");
    expect(rh.errors[0]?.message).toContain(
      'the source of watcher "hog" was stuck in synchronous code',
    );
    expect(quick.health().lastWorkerRestart?.reason).toContain('watcher "hog"');
    expect(pool.stats().deaths).toBe(1);
  });

  test("a worker killed by an uncaught error is reported in the health of every watcher it hosted", async () => {
    const pool = new WorkerPool({ size: 1 });
    const w = make("crashy", { poll: source("throwsLater"), interval: "1h", pool });
    const r = record(w);
    w.start();
    await waitFor(() => r.values.length === 1);
    await waitFor(() => pool.stats().deaths === 1);
    await waitFor(() => w.health().workerRestarts === 1);
    expect(w.health().lastWorkerRestart?.reason).toMatch(
      /^worker exited unexpectedly with code \d+ \(late failure\)$/,
    );
  });

  test("a poll's timeout does not count the time to start the worker and load the module", async () => {
    const pool = new WorkerPool({ size: 1 });
    const slow = { module: new URL("slow-to-load.ts", FIXTURES), export: "poll" };
    const w = make("cold", { poll: slow, interval: "1h", timeout: "100ms", pool });
    const r = record(w);
    w.start();
    await waitFor(() => r.values.length === 1 || r.errors.length > 0);
    expect(r.errors).toEqual([]);
  });

  test("stream objects are copied when yielded, so a source may reuse one object", async () => {
    const w = make("mutating", { stream: source("mutating"), retry: false });
    const r = record(w);
    w.start();
    await waitFor(() => w.state === "ended");
    expect(r.values).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })));
  });

  test("stop() abandons a poll parked in an await without killing its worker", async () => {
    const pool = new WorkerPool({ size: 1 });
    const started = new Int32Array(new SharedArrayBuffer(4));
    const w = make("lazy-stop", {
      poll: source("hangAsyncAndSay", [started]),
      interval: "1h",
      stopTimeout: "5s",
      pool,
    });
    w.start();
    await waitFor(() => Atomics.load(started, 0) === 1);
    const t0 = performance.now();
    await w.stop();
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(pool.stats()).toEqual({ workers: 0, sessions: 0, deaths: 0 });
  });

  test("the poll's signal aborts at its timeout", async () => {
    const w = make("polite", {
      poll: source("waitForAbort"),
      interval: "1h",
      timeout: "20ms",
      retry: false,
    });
    const r = record(w);
    w.start();
    await waitFor(() => w.state === "failed");
    expect(r.errors.map((e) => e.phase)).toEqual(["timeout"]);
  });

  test.each([["stuckStream"], ["stuckAfterOne"]])(
    "stop() kills a worker whose source (%s) is stuck, after stopTimeout",
    async (name) => {
      const pool = new WorkerPool({ size: 1 });
      const started = new Int32Array(new SharedArrayBuffer(4));
      const w = make("stuck-stream", {
        stream: source(name, [started]),
        stopTimeout: "50ms",
        pool,
      });
      w.start();
      // Wait until the source is really stuck (its own "started" mark): a source still parked in
      // its await would be abandoned at once instead.
      await waitFor(() => Atomics.load(started, 0) === 1);
      const t0 = performance.now();
      await w.stop();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
      expect(w.state).toBe("stopped");
      expect(pool.stats()).toEqual({ workers: 0, sessions: 0, deaths: 1 });
    },
  );

  test("a worker that exits during a poll fails that watcher only; the others move to a new worker", async () => {
    const pool = new WorkerPool({ size: 1 });
    const healthy = make("healthy", { poll: source("counter"), interval: "5ms", pool });
    const exits = make("exits", { poll: source("exitWorker"), interval: "1h", retry: false, pool });
    const rh = record(healthy);
    const rx = record(exits);
    healthy.start();
    await waitFor(() => rh.values.length >= 1);
    exits.start();
    await waitFor(() => exits.state === "failed");
    expect(rx.errors[0]?.phase).toBe("worker");
    expect(rx.errors[0]?.message).toContain(
      'worker exited unexpectedly with code 7 while running the source of watcher "exits"',
    );
    const before = rh.values.length;
    await waitFor(() => rh.values.length >= before + 2);
    expect(healthy.health()).toMatchObject({ workerRestarts: 1, errorCount: 0 });
  });

  test("a module that throws while loading fails the watcher without retrying", async () => {
    const w = make("bad-module", {
      poll: { module: new URL("throws-at-load.ts", FIXTURES), export: "poll" },
      interval: "5ms",
    });
    const r = record(w);
    w.start();
    await waitFor(() => w.state === "failed");
    expect(r.errors.map((e) => e.phase)).toEqual(["load"]);
    expect(r.errors[0]?.message).toContain("cannot load the source: misconfigured at load");
  });

  test("a module that exits its worker while loading fails that watcher; its neighbours carry on", async () => {
    const pool = new WorkerPool({ size: 1 });
    const healthy = make("healthy", { poll: source("counter"), interval: "5ms", pool });
    const rh = record(healthy);
    healthy.start();
    await waitFor(() => rh.values.length >= 1);
    const w = make("exits-at-load", {
      poll: { module: new URL("exits-at-load.ts", FIXTURES), export: "poll" },
      interval: "5ms",
      pool,
    });
    const r = record(w);
    w.start();
    await waitFor(() => w.state === "failed");
    expect(r.errors[0]?.phase).toBe("load");
    expect(r.errors[0]?.message).toContain("worker exited unexpectedly with code 3");
    const before = rh.values.length;
    await waitFor(() => rh.values.length >= before + 2);
  });

  test("a missing export fails with the exports that exist", async () => {
    const w = make("typo", { poll: source("countr"), interval: "5ms" });
    const r = record(w);
    w.start();
    await waitFor(() => w.state === "failed");
    expect(r.errors[0]?.message).toMatch(
      /export "countr" of file:.*sources\.ts is missing \(exports: .*counter/,
    );
  });

  test("stream items from a worker arrive in order, across batches", async () => {
    const w = make("numbers", { stream: source("numbers", [20_000]), retry: false });
    let expected = 0;
    let inOrder = true;
    w.subscribe((v) => {
      if (v !== expected++) inOrder = false;
    });
    w.start();
    await waitFor(() => w.state === "ended", { timeout: 4000 });
    expect(expected).toBe(20_000);
    expect(inOrder).toBe(true);
    expect(w.health().lastValueAt).toBeGreaterThan(Date.now() - 1000);
  });

  test("a ReadableStream and an async generator in a worker are followed", async () => {
    const a = make("readable", { stream: source("readable"), retry: false });
    const b = make("ticking", { stream: source("ticking", [1]) });
    const ra = record(a);
    const rb = record(b);
    a.start();
    b.start();
    await waitFor(() => a.state === "ended" && rb.values.length >= 5);
    expect(ra.values).toEqual(["line 0", "line 1", "line 2", "line 3", "line 4"]);
    expect(rb.values.slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
  });

  test("stream items that cannot be cloned are reported and skipped; the rest arrive in order", async () => {
    const w = make("mixed", { stream: source("someUncloneable"), retry: false });
    const r = record(w);
    w.start();
    await waitFor(() => w.state === "ended");
    expect(r.values).toEqual([0, 1, 3, 4]);
    expect(r.errors.map((e) => e.phase)).toEqual(["clone", "clone"]);
    expect(r.errors[0]?.message).toContain("a stream item cannot leave the worker and was skipped");
  });

  test("a stream that ends at once in a worker is reopened with growing backoff", async () => {
    const w = make("empty", {
      stream: source("empty"),
      initialBackoff: "10ms",
      maxBackoff: "80ms",
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.delays.length >= 4, { timeout: 3000 });
    expect(r.delays.slice(0, 4).map((d) => Math.round(d / 10) * 10)).toEqual([10, 20, 40, 80]);
  });

  test("a stream that throws in a worker keeps the items before the error", async () => {
    const w = make("breaks", { stream: source("breaksAfterTwo"), retry: false });
    const r = record(w);
    w.start();
    await waitFor(() => w.state === "failed");
    expect(r.values).toEqual([1, 2]);
    expect(r.errors[0]?.message).toBe('watcher "breaks": stream failed: disk went away');
  });

  test("an endless stream in a shared worker does not starve a poll watcher beside it", async () => {
    const pool = new WorkerPool({ size: 1 });
    const flood = make("flood", { stream: source("endless"), pool });
    const poll = make("poll", { poll: source("counter"), interval: "5ms", pool });
    let items = 0;
    flood.subscribe(() => {
      items++;
    });
    const rp = record(poll);
    flood.start();
    poll.start();
    await waitFor(() => rp.values.length >= 5 && items > 50_000, { timeout: 4000 });
  });
});
