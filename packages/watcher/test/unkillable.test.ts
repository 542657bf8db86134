/**
 * A poll blocked in a native call cannot be interrupted: its worker is killed once, and no other
 * worker starts for that source until the killed thread has ended. A poll blocked in
 * `Bun.spawnSync` is the exception: its child is killed, so the call returns and the thread ends.
 */
import { expect, test } from "bun:test";
import { commandLine, descendants, isAlive, waitFor } from "@specter/core/testing";
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

const sleeps = () => descendants().filter((pid) => commandLine(pid)[0] === "sleep");

for (const viaShell of [false, true]) {
  const how = viaShell ? "sh -c 'sleep 10' (its grandchild holds the pipes)" : "sleep 10";
  test(`a poll in Bun.spawnSync of ${how}: the child is killed with its worker, the source runs again, nothing is left after stop()`, async () => {
    const pool = new WorkerPool({ size: 1 });
    const calls = new Int32Array(new SharedArrayBuffer(4));
    const w = make("spawner", {
      poll: { module: MISBEHAVING, export: "spawnsSleep", args: [10, calls, viaShell] },
      interval: "20ms",
      timeout: "100ms",
      initialBackoff: "20ms",
      maxBackoff: "50ms",
      stopTimeout: "200ms",
      pool,
    });
    const r = record(w);
    w.start();
    const [first] = await waitFor(
      () => {
        const found = sleeps();
        return found.length === 1 ? found : undefined;
      },
      { timeout: 3000 },
    );
    await waitFor(() => r.errors.some((e) => e.phase === "timeout"), { timeout: 3000 });
    // The sleep would run 10 s: gone well before, so it was killed.
    await waitFor(() => !isAlive(first as number), { timeout: 2000 });
    // Its thread ended, so the source runs again on a fresh worker (and blocks again).
    await waitFor(() => Atomics.load(calls, 0) >= 2, { timeout: 3000 });
    expect(pool.stats().deaths).toBeGreaterThanOrEqual(1);
    expect(sleeps().length).toBeLessThanOrEqual(1);
    expect(r.errors.some((e) => e.message.includes("native call"))).toBe(false);
    const t0 = performance.now();
    await w.stop();
    expect(performance.now() - t0).toBeLessThan(2000);
    await waitFor(() => pool.stats().workers === 0 && sleeps().length === 0, { timeout: 2000 });
  }, 15_000);
}
