/** A source that ran out of memory gets a fresh worker or subprocess, which gives back what it held. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isAlive, waitFor } from "@specter/core/testing";
import { WorkerPool } from "../src/index.ts";
import type { Survivor } from "./fixtures/misbehaving.ts";
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

describe('isolation: "process"', () => {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "specter-oom-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const mode of ["poll", "stream"] as const) {
    test(`a ${mode} that fails with 'Out of memory' has its subprocess killed; the next call runs in a new one`, async () => {
      const marker = join(dir, "oom-pid");
      const source = { module: MISBEHAVING, args: [marker] };
      const w = make<Survivor>(
        "hog",
        mode === "poll"
          ? {
              poll: { ...source, export: "failsOutOfMemoryOnce" },
              interval: "10ms",
              initialBackoff: "10ms",
              isolation: "process",
            }
          : {
              stream: { ...source, export: "streamFailsOutOfMemoryOnce" },
              initialBackoff: "10ms",
              isolation: "process",
            },
      );
      const r = record(w);
      w.start();
      await waitFor(() => r.values.length >= 1, { timeout: 5000 });
      const failed = Number(readFileSync(marker, "utf8"));
      expect(r.errors.map((e) => e.message)).toEqual([
        `watcher "hog": ${mode} failed: Out of memory`,
      ]);
      // What the first subprocess held went with it: it ends (it stays alive without the
      // recycle), and a new one answers holding nothing.
      await waitFor(() => !isAlive(failed), { timeout: 1000 });
      expect(r.values[0]).toEqual({ host: expect.any(Number), kept: 0 });
      expect(r.values[0]?.host).not.toBe(failed);
      expect(w.health()).toMatchObject({
        workerRestarts: 1,
        lastWorkerRestart: {
          reason: 'source process recycled: the source of watcher "hog" ran out of memory',
        },
      });
    }, 10_000);
  }
});
