/**
 * A poll blocked in a native call cannot be interrupted: its worker is killed once, and no other
 * worker starts for that source until the killed thread has ended.
 */
import { expect, test } from "bun:test";
import { commandLine, descendants, waitFor } from "@specter/core/testing";
import { WorkerPool } from "../src/index.ts";
import { record, stoppedAfterEach } from "./helpers.ts";

const make = stoppedAfterEach();
const MISBEHAVING = new URL("./fixtures/misbehaving.ts", import.meta.url);

test("a poll in Bun.sleepSync is killed once, reported unkillable, and restarted only after its thread ended; stop() does not wait for it", async () => {
  const pool = new WorkerPool({ size: 1 });
  const calls = new Int32Array(new SharedArrayBuffer(4));
  const w = make("sleeper", {
    poll: { module: MISBEHAVING, export: "sleepsNative", args: [1500, calls] },
    interval: "20ms",
    timeout: "100ms",
    initialBackoff: "20ms",
    maxBackoff: "100ms",
    pool,
  });
  const r = record(w);
  w.start();
  await waitFor(() => w.health().unkillable, { timeout: 3000 });
  await waitFor(() => r.errors.some((e) => e.message.includes("native call")), { timeout: 3000 });
  expect(r.errors[0]?.phase).toBe("timeout");
  expect(r.errors.at(-1)?.phase).toBe("worker");
  expect(r.errors.at(-1)?.message).toContain(
    "still runs: its source is blocked in a native call that cannot be interrupted",
  );
  // Retried with backoff, yet one call and one killed thread: no worker started meanwhile.
  expect(Atomics.load(calls, 0)).toBe(1);
  expect(pool.stats()).toMatchObject({ workers: 1, sessions: 0, deaths: 1 });
  // Once the sleep returns the thread ends and the source runs again (and blocks again).
  await waitFor(() => Atomics.load(calls, 0) === 2, { timeout: 4000 });
  expect(w.health().unkillable).toBe(false);
  const t0 = performance.now();
  await w.stop();
  expect(performance.now() - t0).toBeLessThan(2000);
  expect(w.state).toBe("stopped");
  // The blocked thread ends by itself when its sleep returns.
  await waitFor(() => pool.stats().workers === 0, { timeout: 4000 });
}, 15_000);

test("a poll in Bun.spawnSync holds one child at a time, not one per retry", async () => {
  const pool = new WorkerPool({ size: 1 });
  const w = make("spawner", {
    poll: { module: MISBEHAVING, export: "spawnsSleep", args: [1] },
    interval: "20ms",
    timeout: "100ms",
    initialBackoff: "20ms",
    maxBackoff: "50ms",
    pool,
  });
  const r = record(w);
  const sleeps = () => descendants().filter((pid) => commandLine(pid)[0] === "sleep").length;
  w.start();
  await waitFor(() => w.health().unkillable, { timeout: 3000 });
  await waitFor(() => r.errors.length >= 5, { timeout: 3000 });
  expect(sleeps()).toBeLessThanOrEqual(1);
  expect(pool.stats().deaths).toBe(1);
  await w.stop();
  await waitFor(() => pool.stats().workers === 0 && sleeps() === 0, { timeout: 4000 });
}, 15_000);
