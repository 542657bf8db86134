/**
 * Blame when a shared worker hangs or dies: the source that was loading or running is blamed; a
 * death outside any call fails nobody and the pool splits the sessions until the culprit is alone
 * and quarantined.
 */
import { describe, expect, test } from "bun:test";
import { waitFor } from "@specter/core/testing";
import { type Watcher, WorkerPool } from "../src/index.ts";
import { record, SOURCES, stoppedAfterEach } from "./helpers.ts";

const make = stoppedAfterEach();
const MISBEHAVING = new URL("./fixtures/misbehaving.ts", import.meta.url);
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
      // It goes on killing its own worker only: its errors say so, the neighbours move no more.
      await waitFor(() => pool.stats().deaths >= deaths + 2 && rc.errors.length >= 2, {
        timeout: 5000,
      });
      expect(rc.errors.every((e) => e.phase === "worker")).toBe(true);
      expect(rc.errors.at(-1)?.message).toContain("quarantined on a worker of its own");
      expect(restarts(ns.map((n) => n.w))).toEqual(before);
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
});
