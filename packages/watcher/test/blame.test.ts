/**
 * Blame when a shared worker hangs or dies: the source that was loading or running is blamed; a
 * death outside any call fails nobody and the pool splits the sessions until the culprit is alone
 * and quarantined.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { waitFor } from "@specter/core/testing";
import { searchTiming } from "../src/culprit-search.ts";
import { type Watcher, WorkerPool } from "../src/index.ts";
import { record, SOURCES, stoppedAfterEach } from "./helpers.ts";

const make = stoppedAfterEach();
const MISBEHAVING = new URL("./fixtures/misbehaving.ts", import.meta.url);
const BLOCKERS = new URL("./fixtures/stray-blockers.ts", import.meta.url);
const QUIET = searchTiming.quietMs;
afterEach(() => {
  searchTiming.quietMs = QUIET;
});
const counter = { module: SOURCES, export: "counter" };

function neighbours(pool: WorkerPool, count: number, extra: { timeout?: string } = {}) {
  return Array.from({ length: count }, (_, i) => {
    const w = make(`neighbour-${i}`, { poll: counter, interval: "20ms", pool, ...extra });
    return { w, r: record(w) };
  });
}

const restarts = (ws: Watcher<unknown>[]) => ws.map((w) => w.health().workerRestarts);

describe("a worker that dies outside any call", () => {
  test.each([["timerThrows"], ["timerExits"]])(
    "a source whose leftover timer (%s) kills a shared worker is found and quarantined; its three neighbours get no error",
    async (culpritExport) => {
      const pool = new WorkerPool({ size: 1 });
      const ns = neighbours(pool, 3);
      const culprit = make("culprit", {
        poll: { module: MISBEHAVING, export: culpritExport, args: [10] },
        interval: "30ms",
        initialBackoff: "10ms",
        pool,
      });
      const rc = record(culprit);
      for (const { w } of ns) w.start();
      culprit.start();
      await waitFor(() => culprit.health().quarantined, { timeout: 8000 });
      // One culprit among four sessions: two splits, then the death that names it.
      expect(pool.stats().deaths).toBeLessThanOrEqual(4);
      const before = restarts(ns.map((n) => n.w));
      const deaths = pool.stats().deaths;
      // It goes on killing its own worker only: its errors say so. The neighbours move at most
      // once more: back from the search's extra workers to the pool's one shared worker.
      await waitFor(() => pool.stats().deaths >= deaths + 2 && rc.errors.length >= 2, {
        timeout: 5000,
      });
      expect(rc.errors.every((e) => e.phase === "worker")).toBe(true);
      expect(rc.errors.at(-1)?.message).toContain("quarantined on a worker of its own");
      restarts(ns.map((n) => n.w)).forEach((after, i) => {
        const moved = after - (before[i] ?? 0);
        expect(moved).toBeLessThanOrEqual(1);
        if (moved === 1)
          expect(ns[i]?.w.health().lastWorkerRestart?.reason).toContain("worker retired");
      });
      // One shared worker and the culprit's own (plus, a moment, the one it just killed).
      await waitFor(() => pool.stats().workers <= 2, { timeout: 3000 });
      for (const { w, r } of ns) {
        expect(r.errors).toEqual([]);
        expect(w.state).toBe("running");
        expect(w.health().quarantined).toBe(false);
      }
      const delivered = ns.map(({ r }) => r.values.length);
      await waitFor(() => ns.every(({ r }, i) => r.values.length >= (delivered[i] ?? 0) + 3));
    },
    15_000,
  );

  test("a source alone on its worker is named at its first death and its next poll fails with it", async () => {
    const pool = new WorkerPool({ size: 1 });
    const w = make("alone", {
      poll: { module: MISBEHAVING, export: "timerThrows", args: [5] },
      interval: "20ms",
      initialBackoff: "10ms",
      pool,
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.errors.length >= 1, { timeout: 3000 });
    expect(pool.stats().deaths).toBe(1);
    expect(w.health()).toMatchObject({ quarantined: true, workerRestarts: 1 });
    expect(r.errors[0]?.phase).toBe("worker");
    expect(r.errors[0]?.message).toMatch(
      /worker exited unexpectedly with code \d+ \(leftover timer failed\); no call of the source of watcher "alone" was running/,
    );
    expect(w.state).toMatch(/backoff|running/);
  });

  test("neighbours whose modules load while the worker keeps dying are never failed", async () => {
    const pool = new WorkerPool({ size: 1 });
    const culprit = make("culprit", {
      poll: { module: MISBEHAVING, export: "timerExits", args: [1] },
      interval: "10ms",
      initialBackoff: "10ms",
      pool,
    });
    record(culprit);
    culprit.start();
    const started: ReturnType<typeof neighbours> = [];
    // Each neighbour starts just after a death, while the group reloads its modules.
    for (let i = 0; i < 4; i++) {
      const deaths = pool.stats().deaths;
      await waitFor(() => pool.stats().deaths > deaths, { timeout: 3000 });
      const [n] = neighbours(pool, 1);
      if (!n) throw new Error("unreachable");
      n.w.start();
      started.push(n);
    }
    await waitFor(() => culprit.health().quarantined, { timeout: 8000 });
    await waitFor(() => started.every(({ r }) => r.values.length >= 3), { timeout: 3000 });
    for (const { w, r } of started) {
      expect(r.errors).toEqual([]);
      expect(w.state).toBe("running");
    }
  }, 15_000);
});

describe("a worker that hangs", () => {
  test("a module stuck at its top level is blamed with a load error; its neighbour on a one-worker pool keeps delivering", async () => {
    const pool = new WorkerPool({ size: 1, hangGrace: "20ms" });
    const [n] = neighbours(pool, 1, { timeout: "300ms" });
    if (!n) throw new Error("unreachable");
    n.w.start();
    await waitFor(() => n.r.values.length >= 1);
    const spins = make("spins", {
      poll: { module: new URL("./fixtures/spins-at-load.ts", import.meta.url), export: "poll" },
      interval: "20ms",
      timeout: "100ms",
      initialBackoff: "10ms",
      pool,
    });
    const rs = record(spins);
    spins.start();
    // The neighbour's poll times out behind the spinning import; that worker dies naming nobody
    // for sure, and the loading module goes to a worker of its own, where its next hang names it.
    await waitFor(() => spins.state === "failed", { timeout: 10_000 });
    const load = rs.errors.find((e) => e.phase === "load");
    expect(load?.message).toContain(
      'it did not answer while the module of watcher "spins" was loading (stuck at its top level)',
    );
    expect(n.w.state).toBe("running");
    const before = n.r.values.length;
    await waitFor(() => n.r.values.length >= before + 5);
    // It is not imported again: no worker left spinning, only the neighbour's.
    await waitFor(() => pool.stats().workers === 1, { timeout: 3000 });
    expect(n.r.errors.filter((e) => e.phase !== "timeout")).toEqual([]);
  }, 15_000);

  test("a neighbour started with a module stuck at its top level is freed at its own timeout, not after its load allowance", async () => {
    const pool = new WorkerPool({ size: 1, hangGrace: "20ms" });
    // Both modules load in the same worker at once: the neighbour's may not have answered when the
    // other spins, and its poll then has no load allowance to wait out while that one blocks.
    const [n] = neighbours(pool, 1, { timeout: "300ms" });
    if (!n) throw new Error("unreachable");
    const spins = make("spins", {
      poll: { module: new URL("./fixtures/spins-at-load.ts", import.meta.url), export: "poll" },
      interval: "20ms",
      timeout: "100ms",
      initialBackoff: "10ms",
      stopTimeout: "100ms",
      pool,
    });
    const rs = record(spins);
    let deliveredAtFirstError = -1;
    spins.onError(() => {
      if (deliveredAtFirstError < 0) deliveredAtFirstError = n.r.values.length;
    });
    n.w.start();
    spins.start();
    await waitFor(() => spins.state === "failed", { timeout: 10_000 });
    // The spinning module's first error is its own poll's timeout, after its allowance (5.1 s),
    // on a worker of its own; the neighbour delivered long before that. Before, when its import
    // had not answered, it waited the same allowance and had delivered nothing by then.
    expect(rs.errors[0]?.message).toContain("poll took longer than 5.1s");
    expect(rs.errors.find((e) => e.phase === "load")?.message).toContain("stuck at its top level");
    expect(deliveredAtFirstError).toBeGreaterThanOrEqual(20);
    expect(n.r.errors.filter((e) => e.phase !== "timeout")).toEqual([]);
  }, 15_000);
});

describe("a worker whose event loop is blocked outside any call", () => {
  test.each([["spin"], ["sleepSync"]])(
    "a neighbour's leftover timer (%s) blocks the worker: the innocent timed poll is not blamed nor refused; the culprit is quarantined",
    async (how) => {
      const pool = new WorkerPool({ size: 1 });
      const innocent = make("innocent", {
        poll: { module: BLOCKERS, export: "asyncCounter" },
        interval: "20ms",
        timeout: "200ms",
        initialBackoff: "20ms",
        pool,
      });
      const culprit = make("culprit", {
        poll: { module: BLOCKERS, export: "leavesBlockingTimer", args: [how, 20, 1000] },
        interval: "50ms",
        timeout: "200ms",
        initialBackoff: "50ms",
        // Its worker may be blocked for good when the test ends.
        stopTimeout: "100ms",
        pool,
      });
      const ri = record(innocent);
      const rc = record(culprit);
      innocent.start();
      culprit.start();
      await waitFor(() => culprit.health().quarantined, { timeout: 8000 });
      // One culprit among two sessions: the death that splits them, then the one that names it.
      expect(pool.stats().deaths).toBeLessThanOrEqual(3);
      expect(rc.errors.some((e) => e.message.includes("quarantined on a worker of its own"))).toBe(
        true,
      );
      const delivered = ri.values.length;
      await waitFor(() => ri.values.length >= delivered + 10, { timeout: 3000 });
      // Its poll may time out while the worker is blocked; it is never blamed for the kill.
      expect(ri.errors.filter((e) => e.phase !== "timeout")).toEqual([]);
      expect(ri.errors.length).toBeLessThanOrEqual(2);
      expect(innocent.health()).toMatchObject({ state: "running", quarantined: false });
      expect(innocent.health().lastWorkerRestart?.reason).toContain("event loop was blocked");
    },
    15_000,
  );

  test("a poll that ignores its signal while its worker's loop runs is still blamed", async () => {
    const pool = new WorkerPool({ size: 1, hangGrace: "20ms" });
    const [n] = neighbours(pool, 1);
    if (!n) throw new Error("unreachable");
    const ignorer = make("ignorer", {
      poll: { module: BLOCKERS, export: "ignoresSignal" },
      interval: "1h",
      timeout: "100ms",
      initialBackoff: "1h",
      pool,
    });
    const ri = record(ignorer);
    n.w.start();
    ignorer.start();
    await waitFor(() => pool.stats().deaths === 1, { timeout: 3000 });
    expect(n.w.health().lastWorkerRestart?.reason).toBe(
      'worker killed: the source of watcher "ignorer" did not settle within 20ms after its poll timed out and was aborted',
    );
    expect(ri.errors.map((e) => e.phase)).toEqual(["timeout"]);
    // Blamed, not searched for: the neighbour goes on on the one shared worker.
    const before = n.r.values.length;
    await waitFor(() => n.r.values.length >= before + 5);
    await waitFor(() => pool.stats().workers === 1, { timeout: 3000 });
    expect(n.r.errors).toEqual([]);
    expect(ignorer.health().quarantined).toBe(false);
  });
});

describe("a culprit search that ends without a culprit", () => {
  test("after a quiet period its extra workers are given back: the pool is at its size again", async () => {
    searchTiming.quietMs = 1000;
    const pool = new WorkerPool({ size: 1 });
    const ns = neighbours(pool, 3);
    const once = make("once", {
      poll: {
        module: BLOCKERS,
        export: "exitsOnce",
        args: [new Int32Array(new SharedArrayBuffer(4))],
      },
      interval: "20ms",
      pool,
    });
    const ro = record(once);
    for (const { w } of ns) w.start();
    once.start();
    await waitFor(() => pool.stats().deaths === 1, { timeout: 3000 });
    // Split over two fresh workers, beyond the pool's size of one.
    await waitFor(() => pool.stats().workers === 2, { timeout: 3000 });
    // The moved watchers attach to the shared worker at their next poll.
    await waitFor(() => pool.stats().workers === 1 && pool.stats().sessions === 4, {
      timeout: 5000,
    });
    expect(pool.stats().deaths).toBe(1);
    const delivered = ns.map(({ r }) => r.values.length);
    await waitFor(() => ns.every(({ r }, i) => r.values.length >= (delivered[i] ?? 0) + 3));
    expect(pool.stats().workers).toBe(1);
    for (const { w, r } of [...ns, { w: once, r: ro }]) {
      expect(r.errors).toEqual([]);
      expect(w.health().quarantined).toBe(false);
    }
  }, 10_000);
});
