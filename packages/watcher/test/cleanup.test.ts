/** context.onClose: cleanups registered by sources run on stop, on the main thread and in workers. */
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandLine, descendants, isAlive, openFds, waitFor } from "@specter/core/testing";
import { type SourceContext, WorkerPool } from "../src/index.ts";
import { type Held, MARK } from "./fixtures/holds-resources.ts";
import { stoppedAfterEach } from "./helpers.ts";

const HOLDS = new URL("./fixtures/holds-resources.ts", import.meta.url);
const make = stoppedAfterEach();

const dir = mkdtempSync(join(tmpdir(), "specter-cleanup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** A new file of its own, so that an fd open on it is known to be the test's. */
function tempFile(name: string): string {
  const path = join(dir, name);
  writeFileSync(path, name);
  return path;
}
/** What fd `fd` of this process is open on, or `undefined` when it is closed. */
function target(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/**
 * Starts a dedicated-worker watcher of `source` (whose later polls hang) and returns its first
 * value; `killThenStop()` waits until its worker was killed for a later poll (not asked to close,
 * which would run the cleanups there), then stops it.
 */
async function killedLater<T>(name: string, source: string, args: unknown[]) {
  const w = make<T>(name, {
    poll: { module: HOLDS, export: source, args },
    interval: "10ms",
    timeout: "100ms",
    initialBackoff: "1h",
    worker: "dedicated",
  });
  w.onError(() => {});
  w.start();
  await waitFor(() => w.lastValue !== undefined);
  const killThenStop = async () => {
    await waitFor(() => w.health().workerRestarts > 0, { timeout: 3000 });
    await w.stop();
  };
  return { value: w.lastValue as T, killThenStop };
}

/** `killedLater` of `handleThenSpinLater`: the first poll's fd. */
async function handleThenSpin(name: string, path: string, closeItself: boolean) {
  const { value, killThenStop } = await killedLater<number>(name, "handleThenSpinLater", [
    path,
    closeItself,
  ]);
  return { fd: value, killThenStop };
}

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
    // Killed once its hung poll has ignored the abort for hangGrace.
    const { value, killThenStop } = await killedLater<Held>("worker-hangs", "holdThenHangLater", [
      true,
    ]);
    await killThenStop();
    const { child } = value;
    await waitFor(() => !isAlive(child), { timeout: 3000 });
  }, 10_000);

  test("a killed worker's registered FileHandle is closed by the main thread by the time stop() resolves", async () => {
    const path = tempFile("handle");
    const { fd, killThenStop } = await handleThenSpin("worker-handle", path, false);
    expect(target(fd)).toBe(path);
    await killThenStop();
    expect(target(fd)).not.toBe(path);
  }, 10_000);

  test("a number the source closed itself and the host reopened on another file is left open", async () => {
    const path = tempFile("closed-by-source");
    const { fd, killThenStop } = await handleThenSpin("worker-closed-itself", path, true);
    // The source's handle is closed: the lowest free numbers lead to it.
    const mine = tempFile("reopened");
    const extra: number[] = [];
    let reopened = openSync(mine, "r");
    while (reopened < fd) {
      extra.push(reopened);
      reopened = openSync(mine, "r");
    }
    for (const other of extra) closeSync(other);
    try {
      expect(reopened).toBe(fd);
      await killThenStop();
      expect(target(fd)).toBe(mine);
    } finally {
      closeSync(reopened);
    }
  }, 10_000);
});

describe("a source killed again and again", () => {
  test("what it registered is ended at each kill of its worker, not at stop()", async () => {
    // Each cycle: a poll starts a child and hangs, times out; the retry (queued on the same
    // worker) starts another; hangGrace later the worker is killed with that retry in flight.
    const children = () =>
      descendants().filter((p) => commandLine(p).join(" ") === `sleep ${MARK}`);
    const w = make("holds-then-hangs", {
      poll: { module: HOLDS, export: "holdThenHang", args: [true] },
      interval: "1ms",
      timeout: "200ms",
      initialBackoff: "10ms",
      maxBackoff: "10ms",
      pool: new WorkerPool({ size: 1 }),
    });
    let kills = 0;
    w.onError((e) => void (e.phase === "worker" && kills++));
    w.start();
    await waitFor(() => kills >= 4, { timeout: 8000 });
    // 8 children started so far; only the current cycle's (at most 2) may still be alive.
    await waitFor(() => children().length <= 2, { timeout: 2000 }).catch(() => {});
    expect(children().length).toBeLessThanOrEqual(2);
    await w.stop();
    await waitFor(() => children().length === 0, { timeout: 3000 });
  }, 15_000);
});
