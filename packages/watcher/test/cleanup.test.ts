/** context.onClose: cleanups registered by sources run on stop, on the main thread and in workers. */
import { describe, expect, test } from "bun:test";
import { isAlive, openFds, waitFor } from "@specter/core/testing";
import type { SourceContext } from "../src/index.ts";
import type { Held } from "./fixtures/holds-resources.ts";
import { stoppedAfterEach } from "./helpers.ts";

const HOLDS = new URL("./fixtures/holds-resources.ts", import.meta.url);
const make = stoppedAfterEach();

describe("function sources", () => {
  test("a poll's cleanups run once at stop, last registered first, not between polls", async () => {
    const ran: string[] = [];
    let polls = 0;
    const w = make("cleanups", {
      poll: ({ onClose }: SourceContext) => {
        polls++;
        if (polls === 1) {
          onClose?.(() => ran.push("first"));
          onClose?.({ [Symbol.asyncDispose]: async () => void ran.push("disposable") });
          const unregister = onClose?.(() => ran.push("unregistered"));
          unregister?.();
        }
        return polls;
      },
      interval: "5ms",
    });
    w.start();
    await waitFor(() => polls >= 3);
    expect(ran).toEqual([]);
    await w.stop();
    expect(ran).toEqual(["disposable", "first"]);
  });

  test("a stream's cleanups run when it ends, before it is reopened, and at stop", async () => {
    const ran: number[] = [];
    let opened = 0;
    const w = make("stream-cleanups", {
      stream: ({ onClose }: SourceContext) => {
        const n = ++opened;
        onClose?.(() => ran.push(n));
        return [n];
      },
      initialBackoff: "10ms",
    });
    // What had been cleaned up when each stream's value arrived.
    const cleanedBefore: number[][] = [];
    w.subscribe(() => {
      cleanedBefore.push([...ran]);
    });
    w.start();
    await waitFor(() => cleanedBefore.length >= 3);
    await w.stop();
    expect(cleanedBefore.slice(0, 3)).toEqual([[], [1], [1, 2]]);
    expect(ran).toEqual(Array.from({ length: opened }, (_, i) => i + 1));
  });

  test("onClose refuses what it cannot run, with a TypeError naming what it takes", async () => {
    let thrown: unknown;
    const w = make("bad-cleanup", {
      poll: ({ onClose }: SourceContext) => {
        try {
          onClose?.(42 as unknown as () => void);
        } catch (error) {
          thrown = error;
        }
        return 1;
      },
      interval: "1h",
    });
    w.start();
    await waitFor(() => thrown !== undefined);
    expect(thrown).toBeInstanceOf(TypeError);
    expect(String(thrown)).toContain("[Symbol.asyncDispose]");
  });
});

describe("module sources in a worker", () => {
  test("a normal stop runs the registered cleanups: the fd is closed and the child is gone", async () => {
    const fds = openFds();
    const w = make<Held>("worker-holds", {
      poll: { module: HOLDS, export: "holdOnce", args: [true] },
      interval: "10ms",
      worker: "dedicated",
    });
    w.start();
    await waitFor(() => w.lastValue !== undefined);
    const { child } = w.lastValue as Held;
    expect(isAlive(child)).toBe(true);
    await w.stop();
    await waitFor(() => !isAlive(child) && openFds() <= fds, { timeout: 3000 });
  }, 10_000);

  test("a killed worker's registered child is killed by the main thread", async () => {
    const w = make<Held>("worker-hangs", {
      poll: { module: HOLDS, export: "holdThenHangLater", args: [true] },
      interval: "10ms",
      timeout: "100ms",
      initialBackoff: "1h",
      worker: "dedicated",
    });
    w.onError(() => {});
    w.start();
    await waitFor(() => w.lastValue !== undefined);
    const { child } = w.lastValue as Held;
    await waitFor(() => w.health().errorCount > 0, { timeout: 3000 });
    await w.stop();
    await waitFor(() => !isAlive(child), { timeout: 3000 });
  }, 10_000);
});
