import { describe, expect, test } from "bun:test";
import { waitFor } from "@specter/core/testing";
import { Watcher, type WatcherState } from "../src/index.ts";
import { record, stoppedAfterEach } from "./helpers.ts";

const make = stoppedAfterEach();

describe("poll mode with a function source", () => {
  test("polls at once, then on the interval; subscribers get (value, watcher)", async () => {
    let n = 0;
    const w = make("counter", { poll: () => ++n, interval: "10ms" });
    const got: [number, unknown][] = [];
    w.subscribe((value, watcher) => {
      got.push([value, watcher]);
    });
    expect(w.start()).toBe(w);
    expect(w.running).toBe(true);
    await waitFor(() => got.length >= 3);
    expect(got.slice(0, 3)).toEqual([
      [1, w],
      [2, w],
      [3, w],
    ]);
    expect(w.lastValue).toBe(got.at(-1)?.[0] as number);
    expect(w.health()).toMatchObject({
      name: "counter",
      mode: "poll",
      state: "running",
      isolation: "thread",
    });
  });

  test("unsubscribe stops delivery to that subscriber only", async () => {
    let n = 0;
    const w = make("counter", { poll: () => ++n, interval: "5ms" });
    const a: number[] = [];
    const b: number[] = [];
    const offA = w.subscribe((v) => {
      a.push(v);
    });
    w.subscribe((v) => {
      b.push(v);
    });
    w.start();
    await waitFor(() => a.length >= 2);
    offA();
    const frozen = a.length;
    await waitFor(() => b.length >= frozen + 3);
    expect(a.length).toBe(frozen);
    expect(w.health().subscribers).toBe(1);
  });

  test("start and stop are idempotent; concurrent stops share one promise", async () => {
    let calls = 0;
    const w = make("idem", { poll: () => ++calls, interval: "1h" });
    const r = record(w);
    w.start();
    w.start();
    await waitFor(() => r.values.length === 1);
    const first = w.stop();
    const second = w.stop();
    expect(second).toBe(first);
    await first;
    await w.stop();
    expect(calls).toBe(1);
    expect(r.states).toEqual(["idle", "running", "stopping", "stopped"]);
    expect(w.running).toBe(false);
  });

  test("can be started again after stop, and start during stopping restarts once stopped", async () => {
    let n = 0;
    const w = make("again", { poll: () => ++n, interval: "1h" });
    const r = record(w);
    w.start();
    await waitFor(() => r.values.length === 1);
    const stopping = w.stop();
    w.start();
    await stopping;
    await waitFor(() => r.values.length === 2);
    expect(w.state).toBe("running");
    expect(r.states).toEqual(["idle", "running", "stopping", "stopped", "running"]);
  });

  test("dedupe compares structurally; transform runs before dedupe", async () => {
    const readings = [{ a: [1] }, { a: [1] }, { a: [2] }, { a: [2] }, { a: [1] }];
    let i = 0;
    const w = make("dedupe", {
      poll: () => readings[Math.min(i++, 4)],
      interval: "2ms",
      dedupe: true,
    });
    const r = record(w);
    w.start();
    await waitFor(() => i >= 7);
    expect(r.values).toEqual([{ a: [1] }, { a: [2] }, { a: [1] }]);
    expect(w.health().deduped).toBeGreaterThanOrEqual(3);

    let j = 0;
    const t = make("transform", {
      poll: () => j++,
      interval: "2ms",
      transform: (v: number) => (v < 3 ? "low" : "high"),
      dedupe: true,
    });
    const rt = record(t);
    t.start();
    await waitFor(() => j >= 6);
    expect(rt.values).toEqual(["low", "high"]);
  });

  test("a throwing dedupe is reported and the loop goes on", async () => {
    let n = 0;
    const w = make("bad-dedupe", {
      poll: () => ++n,
      interval: "2ms",
      dedupe: (a: number) => {
        if (a === 1) throw new Error("compare bug");
        return false;
      },
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.values.length >= 3);
    // A value whose comparison threw counts as changed.
    expect(r.values.slice(0, 3)).toEqual([1, 2, 3]);
    expect(r.errors.map((e) => e.message)).toEqual([
      'watcher "bad-dedupe": dedupe threw: compare bug',
    ]);
  });

  test("dedupe sees a change made in place to the same object", async () => {
    const reading = { level: 0 };
    const w = make("in-place", { poll: () => reading, interval: "2ms", dedupe: true });
    const levels: number[] = [];
    w.subscribe((v) => void levels.push(v.level));
    w.start();
    await waitFor(() => levels.length === 1);
    reading.level = 1;
    await waitFor(() => levels.length === 2);
    expect(levels).toEqual([0, 1]);
  });

  test("dedupe accepts a custom equality", async () => {
    let n = 0;
    const w = make("tens", {
      poll: () => n++,
      interval: "1ms",
      dedupe: (a: number, b: number) => Math.floor(a / 10) === Math.floor(b / 10),
    });
    const r = record(w);
    w.start();
    await waitFor(() => n >= 31);
    expect(r.values.slice(0, 4)).toEqual([0, 10, 20, 30]);
  });

  test("a throwing subscriber is reported and the others still get the value", async () => {
    const w = make("iso", { poll: () => 7, interval: "1h" });
    const r = record(w);
    w.subscribe(() => {
      throw new Error("subscriber bug");
    });
    const after: number[] = [];
    w.subscribe((v) => {
      after.push(v);
    });
    w.start();
    await waitFor(() => after.length === 1 && r.errors.length === 1);
    expect(r.values).toEqual([7]);
    expect(r.errors[0]?.phase).toBe("subscriber");
    expect(r.errors[0]?.message).toBe('watcher "iso": subscriber threw: subscriber bug');
    expect(w.health()).toMatchObject({ callbackErrors: 1, errorCount: 0, state: "running" });
  });

  test("a throwing transform drops that value and reports it", async () => {
    let n = 0;
    const w = make("tx", {
      poll: () => ++n,
      interval: "2ms",
      transform: (v: number) => {
        if (v === 2) throw new Error("odd reading");
        return v * 10;
      },
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.values.length >= 3);
    expect(r.values.slice(0, 3)).toEqual([10, 30, 40]);
    expect(r.errors[0]?.phase).toBe("transform");
  });

  test("failures back off exponentially up to maxBackoff, and a success resets the backoff", async () => {
    // Fails 4 times, succeeds once, then fails again.
    let calls = 0;
    const w = make("flaky", {
      poll: () => {
        calls++;
        if (calls <= 4 || calls >= 6) throw new Error(`failure ${calls}`);
        return "ok";
      },
      interval: "5ms",
      initialBackoff: "10ms",
      maxBackoff: "40ms",
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.delays.length >= 6, { timeout: 3000 });
    const rounded = r.delays.map((d) => Math.round(d / 10) * 10);
    // 4 failures: 10, 20, 40, 40; success "ok" then the next failure starts again at 10, then 20.
    expect(rounded.slice(0, 6)).toEqual([10, 20, 40, 40, 10, 20]);
    expect(r.values).toEqual(["ok"]);
    expect(r.errors[0]?.message).toBe('watcher "flaky": poll failed: failure 1');
    expect(r.errors[0]?.phase).toBe("poll");
    expect(r.errors[0]?.cause).toBeInstanceOf(Error);
    const health = w.health();
    expect(health.errorCount).toBeGreaterThanOrEqual(6);
    expect(health.lastError?.message).toContain("poll failed");
  });

  test("jitter randomises each delay within its fraction of the nominal delay", async () => {
    const w = make("jittery", {
      poll: () => {
        throw new Error("down");
      },
      interval: "1h",
      initialBackoff: "40ms",
      maxBackoff: "40ms",
      jitter: 0.5,
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.delays.length >= 6, { timeout: 3000 });
    for (const d of r.delays) {
      expect(d).toBeGreaterThanOrEqual(19);
      expect(d).toBeLessThanOrEqual(40);
    }
    expect(new Set(r.delays).size).toBeGreaterThan(1);
  });

  test("after a failure, the next poll waits for the backoff, not the interval", async () => {
    let calls = 0;
    const w = make("retry-fast", {
      poll: () => {
        if (++calls === 1) throw new Error("first");
        return calls;
      },
      interval: "1h",
      initialBackoff: "10ms",
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.values.length === 1);
    expect(r.states).toEqual(["idle", "running", "backoff", "running"]);
  });

  test("retry: false ends the watcher after the first failure", async () => {
    let calls = 0;
    const w = make("once", {
      poll: () => {
        calls++;
        throw new Error("nope");
      },
      interval: "1ms",
      retry: false,
    });
    const r = record(w);
    w.start();
    await waitFor(() => w.state === "failed");
    await Bun.sleep(20); // a failed watcher must stay quiet: give a wrong one time to poll again
    expect(calls).toBe(1);
    expect(r.states).toEqual(["idle", "running", "failed"]);
    expect(w.running).toBe(false);
    await w.stop();
    expect(w.state).toBe("failed");
  });

  test("the signal is made on first read: read after stop it is aborted; a spread context keeps it", async () => {
    const seen: { aborted: boolean; same: boolean }[] = [];
    let release: (() => void) | undefined;
    const w = make("lazy", {
      poll: async (context) => {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        const copy = { ...context };
        seen.push({ aborted: copy.signal.aborted, same: copy.signal === context.signal });
        return 1;
      },
      interval: "1h",
    });
    const r = record(w);
    w.start();
    await waitFor(() => release !== undefined);
    await w.stop();
    release?.();
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual([{ aborted: true, same: true }]);
    expect(r.values).toEqual([]);
  });

  test("a poll longer than timeout fails, and its late result is never delivered", async () => {
    let calls = 0;
    const aborted: boolean[] = [];
    const w = make("slow", {
      poll: async ({ signal }) => {
        calls++;
        const mine = calls;
        await Bun.sleep(mine === 1 ? 60 : 0);
        aborted.push(signal.aborted);
        return mine;
      },
      interval: "1h",
      timeout: "20ms",
      initialBackoff: "100ms",
    });
    const r = record(w);
    w.start();
    await waitFor(() => r.values.length === 1, { timeout: 3000 });
    await waitFor(() => aborted.length === 2);
    expect(r.values).toEqual([2]);
    expect(aborted).toEqual([true, false]);
    expect(r.errors[0]?.phase).toBe("timeout");
    expect(r.errors[0]?.message).toBe('watcher "slow": poll took longer than 20ms');
  });

  test("a never-settling poll is abandoned by stop() at once, not after stopTimeout", async () => {
    const w = make("hung", {
      poll: () => new Promise<never>(() => {}),
      interval: "1h",
      stopTimeout: "5s",
    });
    w.start();
    await Bun.sleep(5);
    const t0 = performance.now();
    await w.stop();
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(w.state).toBe("stopped");
  });

  test("fixed rate: a poll that overruns skips ticks instead of overlapping", async () => {
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    const w = make("overrun", {
      poll: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        calls++;
        await Bun.sleep(35);
        running--;
        return calls;
      },
      interval: "10ms",
    });
    w.start();
    await waitFor(() => calls >= 4, { timeout: 3000 });
    expect(maxRunning).toBe(1);
    expect(w.health().skippedTicks).toBeGreaterThanOrEqual(6);
  });

  test("fixed rate: ticks do not drift by the time the poll takes", async () => {
    // Each poll takes ~6ms of a 20ms interval; with drift, 10 polls would span >= 9 * 26ms.
    const starts: number[] = [];
    const w = make("rate", {
      poll: async () => {
        starts.push(performance.now());
        await Bun.sleep(6);
        return starts.length;
      },
      interval: "20ms",
    });
    w.start();
    await waitFor(() => starts.length >= 10, { timeout: 3000 });
    const span = (starts[9] as number) - (starts[0] as number);
    expect(span).toBeLessThan(9 * 26);
    expect(w.health().skippedTicks).toBe(0);
  });

  test("on(event) is subscribe, onError and onState by name; an unknown event is an OptionsError", async () => {
    let calls = 0;
    const w = make("named", {
      poll: () => {
        if (++calls === 1) throw new Error("first fails");
        return calls;
      },
      interval: "1h",
      initialBackoff: "10ms",
    });
    const seen: string[] = [];
    w.on("value", (v) => void seen.push(`value ${v}`));
    w.on("error", (e) => void seen.push(`error ${e.phase}`));
    const off = w.on("state", (s, prev) => void seen.push(`${prev}->${s}`));
    w.start();
    await waitFor(() => seen.includes("value 2"));
    off();
    expect(seen).toEqual([
      "idle->running",
      "error poll",
      "running->backoff",
      "backoff->running",
      "value 2",
    ]);
    expect(() => w.on("tick" as never, () => {})).toThrow(
      'Watcher "named".on(): option "event" got "tick": expected one of "value", "error", "state"',
    );
  });

  test("onState reports every transition with the previous state", async () => {
    const seen: [WatcherState, WatcherState][] = [];
    const w = make("states", { poll: () => 1, interval: "1h" });
    w.onState((s, prev) => {
      seen.push([prev, s]);
    });
    w.start();
    await w.stop();
    expect(seen).toEqual([
      ["idle", "running"],
      ["running", "stopping"],
      ["stopping", "stopped"],
    ]);
  });

  test("await using stops the watcher", async () => {
    let w: Watcher<number> | undefined;
    {
      await using scoped = new Watcher("scoped", { poll: () => 1, interval: "1h" }).start();
      w = scoped;
      expect(w.running).toBe(true);
    }
    expect(w?.state).toBe("stopped");
  });

  test("without an onError listener errors go to console.error", async () => {
    const lines: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => {
      lines.push(args);
    };
    try {
      const w = make("loud", {
        poll: () => {
          throw new Error("boom");
        },
        interval: "1h",
        retry: false,
      });
      w.start();
      await waitFor(() => w.state === "failed");
    } finally {
      console.error = original;
    }
    expect(lines).toEqual([['[specter] watcher "loud": poll failed: boom']]);
  });
});
