/** isolation: "process": a module source in a Bun subprocess of its own, killed as a group. */
import { describe, expect, test } from "bun:test";
import { descendants, isAlive, waitFor } from "@specter/core/testing";
import { OptionsError, Watcher } from "../src/index.ts";
import type { Held } from "./fixtures/holds-resources.ts";
import { record, stoppedAfterEach } from "./helpers.ts";

const HOLDS = new URL("./fixtures/holds-resources.ts", import.meta.url);
const THROWS = new URL("./fixtures/throws-at-load.ts", import.meta.url);
const make = stoppedAfterEach();

describe('isolation: "process"', () => {
  test("polls run in a subprocess; values cross as structured clones; health says process", async () => {
    const w = make("rich", {
      poll: { module: HOLDS, export: "richValue" },
      interval: "10ms",
      isolation: "process",
    });
    w.start();
    await waitFor(() => w.lastValue !== undefined, { timeout: 5000 });
    expect(w.lastValue).toEqual({ at: new Date(0), map: new Map([["a", 1]]), big: 10n });
    expect(w.health().isolation).toBe("process");
  }, 10_000);

  test("a stream's items arrive from the subprocess", async () => {
    const w = make<unknown>("stream", {
      stream: { module: HOLDS, export: "holdStream", args: [false] },
      isolation: "process",
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.values.length >= 5, { timeout: 5000 });
    const held = r.values[0] as Held;
    expect(held.host).not.toBe(process.pid);
    expect(r.values.slice(1, 5)).toEqual([0, 1, 2, 3]);
    await w.stop();
    await waitFor(() => !isAlive(held.host) && !isAlive(held.child), { timeout: 3000 });
  }, 10_000);

  test("stop() ends the subprocess and what the source started, without any registration", async () => {
    const w = make<Held>("holds", {
      poll: { module: HOLDS, export: "holdOnce", args: [false] },
      interval: "10ms",
      isolation: "process",
    });
    w.start();
    await waitFor(() => w.lastValue !== undefined, { timeout: 5000 });
    const { host, child } = w.lastValue as Held;
    expect(descendants()).toContain(child);
    await w.stop();
    await waitFor(() => !isAlive(host) && !isAlive(child), { timeout: 3000 });
    expect(descendants()).toEqual([]);
  }, 10_000);

  test("a hung poll kills the subprocess group; the next poll runs in a new one", async () => {
    const w = make<Held>("hangs", {
      poll: { module: HOLDS, export: "holdThenHangLater", args: [false] },
      interval: "10ms",
      timeout: "100ms",
      initialBackoff: "10ms",
      isolation: "process",
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.values.length > 0, { timeout: 5000 });
    const first = r.values[0] as Held;
    await waitFor(() => r.values.length > 1, { timeout: 5000 });
    const second = r.values[1] as Held;
    expect(second.host).not.toBe(first.host);
    expect(isAlive(first.host) || isAlive(first.child)).toBe(false);
    expect(r.errors.map((e) => e.phase)).toContain("timeout");
    // The kill waited the fixed grace the README names (the next poll, if already sent, fails
    // with the reason; else the restart records it).
    const reasons = [...r.errors.map((e) => e.message), w.health().lastWorkerRestart?.reason];
    expect(reasons.join("\n")).toContain("did not settle within 100ms after its poll timed out");
  }, 10_000);

  test("a module that throws at load fails the watcher with a load error", async () => {
    const w = make("throws", {
      poll: { module: THROWS, export: "poll" },
      interval: "10ms",
      isolation: "process",
    });
    const r = record(w);
    w.start();
    await waitFor(() => w.state === "failed", { timeout: 5000 });
    expect(r.errors[0]?.phase).toBe("load");
    expect(r.errors[0]?.message).toContain("misconfigured at load");
  }, 10_000);
});

describe("isolation option", () => {
  const module = { module: HOLDS, export: "richValue" };
  test("an unknown value names the option and the allowed values", () => {
    expect(
      () => new Watcher("w", { poll: module, interval: "1s", isolation: "thread" as "worker" }),
    ).toThrow(/isolation[\s\S]*"worker"[\s\S]*"process"/);
  });
  test("a function source refuses it", () => {
    expect(() => new Watcher("w", { poll: () => 1, interval: "1s", isolation: "process" })).toThrow(
      OptionsError,
    );
    expect(() => new Watcher("w", { poll: () => 1, interval: "1s", isolation: "process" })).toThrow(
      /isolation/,
    );
  });
  test('"process" refuses worker and pool', () => {
    expect(
      () =>
        new Watcher("w", {
          poll: module,
          interval: "1s",
          isolation: "process",
          worker: "dedicated",
        }),
    ).toThrow(/worker[\s\S]*isolation "process"/);
  });
  test('"worker" is the default and fits function sources when given explicitly', () => {
    expect(new Watcher("w", { poll: module, interval: "1s" }).health().isolation).toBe(
      "shared-worker",
    );
    expect(
      () => new Watcher("w", { poll: () => 1, interval: "1s", isolation: "worker" }),
    ).not.toThrow();
  });
});
