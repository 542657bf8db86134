import { describe, expect, test } from "bun:test";
import { waitFor } from "@specter/core/testing";
import { fastParse } from "../src/fast-parse.ts";
import { WorkerPool } from "../src/index.ts";
import { zodParse } from "../src/options-schema.ts";
import { tickerStats } from "../src/ticker.ts";
import { SOURCES, stoppedAfterEach } from "./helpers.ts";

const make = stoppedAfterEach();

/** Starts a watcher whose poll records when it ran. */
function timed(name: string, interval: number, poll?: () => unknown) {
  const starts: number[] = [];
  const w = make(name, {
    poll: () => {
      starts.push(performance.now());
      return poll ? poll() : starts.length;
    },
    interval,
  });
  return { w, starts };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** How far each tick k ran from tick 0 + k * interval, in milliseconds. */
function drift(starts: number[], interval: number): number[] {
  const t0 = starts[0] as number;
  return starts.slice(1).map((t, i) => t - t0 - (i + 1) * interval);
}

describe("one shared ticker for every watcher", () => {
  test("watchers with the same interval started at different times keep their own fixed-rate phases", async () => {
    const interval = 100;
    const a = timed("phase-a", interval);
    const b = timed("phase-b", interval);
    const c = timed("phase-c", interval);
    a.w.start();
    await Bun.sleep(33);
    b.w.start();
    await Bun.sleep(33);
    c.w.start();
    await waitFor(() => c.starts.length >= 6, { timeout: 5000 });
    for (const { starts } of [a, b, c]) expect(median(drift(starts, interval))).toBeLessThan(30);
    // Tick k of b stays about 33 ms after tick k of a, and c about 66 ms: phases are not merged.
    const gap = (x: number[], y: number[]) =>
      median(y.slice(0, 5).map((t, k) => t - (x[k] as number)));
    expect(gap(a.starts, b.starts)).toBeGreaterThan(15);
    expect(gap(a.starts, b.starts)).toBeLessThan(60);
    expect(gap(a.starts, c.starts)).toBeGreaterThan(45);
    expect(gap(a.starts, c.starts)).toBeLessThan(90);
  });

  test("stopping one watcher does not disturb the others", async () => {
    const interval = 30;
    const a = timed("keep-a", interval);
    const b = timed("stop-b", interval);
    const c = timed("keep-c", interval);
    a.w.start();
    await Bun.sleep(10);
    b.w.start();
    await Bun.sleep(10);
    c.w.start();
    await waitFor(() => b.starts.length >= 3);
    await b.w.stop();
    const stoppedAt = b.starts.length;
    const [na, nc] = [a.starts.length, c.starts.length];
    await waitFor(() => a.starts.length >= na + 5 && c.starts.length >= nc + 5, { timeout: 5000 });
    expect(b.starts.length).toBe(stoppedAt);
    for (const { w, starts } of [a, c]) {
      expect(median(drift(starts, interval))).toBeLessThan(20);
      expect(w.health().skippedTicks).toBe(0);
    }
  });

  test("a timer exists only while some watcher has a tick or retry ahead", async () => {
    expect(tickerStats()).toEqual({ scheduled: 0, timer: false });
    const a = timed("timer-a", 20);
    const b = timed("timer-b", 50);
    a.w.start();
    b.w.start();
    await waitFor(() => a.starts.length >= 2 && b.starts.length >= 2);
    expect(tickerStats()).toEqual({ scheduled: 2, timer: true });
    await a.w.stop();
    expect(tickerStats().scheduled).toBe(1);
    await b.w.stop();
    expect(tickerStats()).toEqual({ scheduled: 0, timer: false });
  });

  test("a process whose watchers all stopped ends by itself", async () => {
    const script = `
      import { Watcher } from ${JSON.stringify(new URL("../src/index.ts", import.meta.url).href)};
      const ws = Array.from({ length: 100 }, (_, i) =>
        new Watcher("w" + i, { poll: () => i, interval: i % 2 ? "20ms" : "1h" }).start());
      const failing = new Watcher("retrying", {
        poll: () => { throw new Error("down"); }, interval: "10ms", initialBackoff: "1h",
      });
      failing.onError(() => {});
      failing.start();
      await Bun.sleep(100);
      await Promise.all([...ws, failing].map((w) => w.stop()));
      console.log("stopped");
    `;
    const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    const killer = setTimeout(() => child.kill(), 10_000);
    const code = await child.exited;
    clearTimeout(killer);
    expect(await new Response(child.stdout).text()).toContain("stopped");
    expect(child.signalCode).toBeNull();
    expect(code).toBe(0);
  });

  test("a poll that overruns skips its own ticks, counted; a watcher sharing the interval keeps its own", async () => {
    const interval = 10;
    let slowCalls = 0;
    const slow = make("slow", {
      poll: async () => {
        slowCalls++;
        await Bun.sleep(35);
        return slowCalls;
      },
      interval,
    });
    const fast = timed("fast", interval);
    slow.start();
    fast.w.start();
    await waitFor(() => slowCalls >= 4, { timeout: 3000 });
    expect(slow.health().skippedTicks).toBeGreaterThanOrEqual(6);
    // The fast one may lose a tick to a busy machine, never several per poll as the slow one does.
    expect(fast.w.health().skippedTicks).toBeLessThan(fast.starts.length / 2);
  });

  test("many watchers on one interval all tick, on one timer", async () => {
    const counts = new Array<number>(500).fill(0);
    const ws = counts.map((_, i) =>
      make(`many-${i}`, {
        poll: () => {
          counts[i] = (counts[i] as number) + 1;
          return counts[i];
        },
        interval: "25ms",
      }),
    );
    for (const w of ws) w.start();
    await waitFor(() => counts.every((n) => n >= 4), { timeout: 5000 });
    expect(tickerStats()).toEqual({ scheduled: 500, timer: true });
  });

  test("a retry waits on the ticker too: backoff, then polling again", async () => {
    let calls = 0;
    const w = make("flaky", {
      poll: () => {
        if (++calls <= 2) throw new Error("not yet");
        return calls;
      },
      interval: "10ms",
      initialBackoff: "20ms",
    });
    const errors: string[] = [];
    w.onError((e) => {
      errors.push(e.message);
    });
    const values: number[] = [];
    w.subscribe((v) => {
      values.push(v);
    });
    w.start();
    await waitFor(() => w.state === "backoff");
    expect(w.health().nextRetryIn).toBeGreaterThan(0);
    expect(tickerStats().scheduled).toBeGreaterThanOrEqual(1);
    await waitFor(() => values.length >= 3, { timeout: 3000 });
    expect(errors).toHaveLength(2);
    expect(w.health().consecutiveErrors).toBe(0);
  });

  test("module watchers on a shared pool tick on the shared ticker", async () => {
    // A pool of one worker of its own, so other test files' workers do not matter; it ends
    // when the watchers stop (stoppedAfterEach).
    const pool = new WorkerPool({ size: 1 });
    const ws = Array.from({ length: 20 }, (_, i) =>
      make<number>(`m${i}`, {
        poll: { module: SOURCES, export: "counter" },
        interval: "20ms",
        pool,
      }),
    );
    const seen = ws.map(() => 0);
    ws.forEach((w, i) => {
      w.subscribe(() => {
        seen[i] = (seen[i] as number) + 1;
      });
      w.start();
    });
    await waitFor(() => seen.every((n) => n >= 3), { timeout: 5000 });
    expect(tickerStats().scheduled).toBeGreaterThanOrEqual(1);
  });
});

describe("options validated without zod when zod would accept them", () => {
  const poll = () => 1;
  const valid: Record<string, unknown>[] = [
    { poll, interval: "1s" },
    { poll, interval: 250, timeout: "100ms", retry: false },
    { poll, interval: "1m30s", initialBackoff: "2s", maxBackoff: "10s", jitter: 0.5 },
    { poll, interval: 5, jitter: true, dedupe: true, stopTimeout: 0 },
    { poll, interval: 5, dedupe: (a: unknown, b: unknown) => a === b, transform: String },
    { stream: poll },
    { stream: poll, retry: undefined, jitter: false },
    { poll: { module: SOURCES, export: "counter" }, interval: "1s", worker: "dedicated" },
    { poll: { module: SOURCES.href, args: [1, "a"] }, interval: 1, pool: WorkerPool.default },
  ];
  test.each(valid.map((o, i) => [i, o] as const))(
    "valid options %i: the same result as zod",
    (_, o) => {
      const fast = fastParse(o);
      expect(fast).toBeDefined();
      const slow = zodParse(o) as Record<string, unknown>;
      const defined = (x: Record<string, unknown>) =>
        Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined));
      expect(defined(fast as Record<string, unknown>)).toEqual(defined(slow));
    },
  );

  const invalid: unknown[] = [
    null,
    { interval: "1s" },
    { poll, stream: poll },
    { poll },
    { poll, interval: "0s" },
    { poll, interval: "soon" },
    { poll, interval: "30d" },
    { stream: poll, interval: "1s" },
    { stream: poll, timeout: "1s" },
    { poll, interval: 1, extra: true },
    { poll, interval: 1, jitter: 2 },
    { poll, interval: 1, jitter: Number.NaN },
    { poll, interval: 1, initialBackoff: "5s", maxBackoff: "1s" },
    { poll, interval: 1, worker: "dedicated" },
    { poll, interval: 1, pool: {} },
    { poll: { module: "" }, interval: 1 },
    { poll: { module: SOURCES, extra: 1 }, interval: 1 },
    { poll: { module: SOURCES, export: "" }, interval: 1 },
    { poll: { module: SOURCES, args: "a" }, interval: 1 },
    { poll, interval: 1, retry: "yes" },
    { poll, interval: 1, dedupe: "yes" },
    { poll, interval: 1, stopTimeout: -1 },
  ];
  test.each(invalid.map((o, i) => [i, o] as const))(
    "invalid options %i: left to zod, which rejects them",
    (_, o) => {
      expect(fastParse(o)).toBeUndefined();
      expect(zodParse(o)).toBeUndefined();
    },
  );
});
