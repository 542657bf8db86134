/**
 * `health()` and its schema are one definition: every health() a watcher can return parses with
 * the strict `WatcherHealth` schema, so a field added to one but not the other fails here.
 */
import { expect, test } from "bun:test";
import { waitFor } from "@specter/core/testing";
import { WatcherHealth, WorkerPool } from "../src/index.ts";
import { record, SOURCES, stoppedAfterEach } from "./helpers.ts";

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
