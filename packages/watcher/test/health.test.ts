/**
 * `health()` and its schema are one definition: every health() a watcher can return parses with
 * the strict `WatcherHealth` schema, so a field added to one but not the other fails here.
 */
import { expect, test } from "bun:test";
import { waitFor } from "@specter/core/testing";
import { WatcherHealth, WorkerPool } from "../src/index.ts";
import { record, SOURCES, stoppedAfterEach } from "./helpers.ts";

const MISBEHAVING = new URL("./fixtures/misbehaving.ts", import.meta.url);
const make = stoppedAfterEach();

test("an idle and a running function watcher's health() parse with the strict schema", async () => {
  const w = make("h-fn", { poll: () => ({ n: 1 }), interval: "20ms", dedupe: true });
  expect(WatcherHealth.parse(w.health())).toEqual(w.health());
  w.subscribe(() => {});
  w.start();
  await waitFor(() => w.health().delivered > 0);
  const health = w.health();
  expect(health.lastValueAt).not.toBeNull();
  expect(WatcherHealth.parse(health)).toEqual(health);
});

test("a failing watcher's health (lastError, backoff) parses with the strict schema", async () => {
  const w = make("h-fail", {
    poll: () => {
      throw new Error("sensor offline");
    },
    interval: "1s",
    initialBackoff: "1s",
  });
  const { errors } = record(w);
  w.start();
  await waitFor(() => w.state === "backoff");
  const health = w.health();
  expect(errors.length).toBe(1);
  expect(health.lastError?.phase).toBe("poll");
  expect(health.nextRetryIn).not.toBeNull();
  expect(WatcherHealth.parse(health)).toEqual(health);
});

test("a worker watcher's health after its worker died (lastWorkerRestart) parses with the strict schema", async () => {
  const pool = new WorkerPool({ size: 1 });
  const w = make("h-worker", {
    poll: { module: SOURCES, export: "throwsLater" },
    interval: "1h",
    pool,
  });
  const { values } = record(w);
  w.start();
  await waitFor(() => values.length === 1);
  await waitFor(() => w.health().workerRestarts === 1);
  const health = w.health();
  expect(health.isolation).toBe("shared-worker");
  expect(health.lastWorkerRestart).not.toBeNull();
  expect(WatcherHealth.parse(health)).toEqual(health);
});

test("the schema rejects a health object with a field it does not know", () => {
  const w = make("h-strict", { poll: () => 1, interval: "1s" });
  expect(() => WatcherHealth.parse({ ...w.health(), surprise: 1 })).toThrow();
});

test("quarantined and unkillable keep their last values after the loop failed, until the next start", async () => {
  // Alone on its worker, its leftover timer kills it outside any call: quarantined, and that death
  // fails its next poll; with retry: false the watcher is then failed.
  const quarantined = make("h-quarantined", {
    poll: { module: MISBEHAVING, export: "timerExits", args: [5] },
    interval: "50ms",
    retry: false,
    pool: new WorkerPool({ size: 1 }),
  });
  quarantined.onError(() => {});
  quarantined.start();
  await waitFor(() => quarantined.state === "failed", { timeout: 5000 });
  expect(quarantined.health().quarantined).toBe(true);
  // Blocked in a native call past its timeout: its killed worker's thread lives on.
  const calls = new Int32Array(new SharedArrayBuffer(4));
  const unkillable = make("h-unkillable", {
    poll: { module: MISBEHAVING, export: "sleepsNative", args: [1500, calls] },
    interval: "1h",
    timeout: "100ms",
    retry: false,
    worker: "dedicated",
  });
  unkillable.onError(() => {});
  unkillable.start();
  await waitFor(() => unkillable.state === "failed", { timeout: 5000 });
  await waitFor(() => unkillable.health().unkillable, { timeout: 3000 });
  quarantined.start();
  expect(quarantined.health().quarantined).toBe(false);
  // Its thread ends when the native call returns; then it is no longer unkillable.
  await waitFor(() => !unkillable.health().unkillable, { timeout: 5000 });
}, 15_000);
