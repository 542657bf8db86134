/** A source that ran out of memory gets a fresh worker, which gives back what it held. */
import { expect, test } from "bun:test";
import { waitFor } from "@specter/core/testing";
import { WorkerPool } from "../src/index.ts";
import { record, SOURCES, stoppedAfterEach } from "./helpers.ts";

const make = stoppedAfterEach();
const MISBEHAVING = new URL("./fixtures/misbehaving.ts", import.meta.url);

test("a poll that fails with 'Out of memory' has its worker recycled; the memory its module held is gone", async () => {
  const pool = new WorkerPool({ size: 1 });
  const times = new Int32Array(new SharedArrayBuffer(4));
  const neighbour = make("neighbour", {
    poll: { module: SOURCES, export: "counter" },
    interval: "10ms",
    pool,
  });
  const hog = make("hog", {
    poll: { module: MISBEHAVING, export: "failsOutOfMemory", args: [times] },
    interval: "10ms",
    initialBackoff: "10ms",
    pool,
  });
  const rn = record(neighbour);
  const rh = record(hog);
  neighbour.start();
  await waitFor(() => rn.values.length >= 1);
  hog.start();
  await waitFor(() => rh.values.length >= 1, { timeout: 3000 });
  expect(rh.errors.map((e) => e.message)).toEqual(['watcher "hog": poll failed: Out of memory']);
  // A fresh worker imported the module again: it holds no block (the old worker held one).
  expect(rh.values[0]).toBe(0);
  const reason = 'worker recycled: the source of watcher "hog" ran out of memory';
  expect(hog.health()).toMatchObject({ workerRestarts: 1, lastWorkerRestart: { reason } });
  expect(neighbour.health()).toMatchObject({
    errorCount: 0,
    workerRestarts: 1,
    lastWorkerRestart: { reason },
  });
  expect(pool.stats().deaths).toBe(1);
});
