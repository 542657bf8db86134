/** Fault group: watchers. */

import { waitFor } from "@specter/core/testing";
import { Watcher } from "@specter/watcher";
import { group, pool, since } from "../lib.ts";

const g = group("watchers");
const sources = new URL("../fixtures/sources.ts", import.meta.url);
const fixtures = new URL("../fixtures/", import.meta.url);

/** A one-worker pool with a healthy watcher already delivering: the neighbour a fault must spare. */
async function healthyNeighbour() {
  const p = pool({ size: 1 });
  const healthy = new Watcher("healthy", {
    poll: { module: sources, export: "counter" },
    interval: "10ms",
    pool: p,
  });
  healthy.start();
  await waitFor(() => healthy.health().delivered > 0);
  return { p, healthy };
}

await g.check(
  "poll that throws every time",
  "backoff doubles from initialBackoff, is capped at maxBackoff, resets after a success",
  async () => {
    let calls = 0;
    let succeedOnce = false;
    const w = new Watcher("always-fails", {
      poll: () => {
        calls++;
        if (succeedOnce) {
          succeedOnce = false;
          return calls;
        }
        throw new Error("down");
      },
      interval: "5ms",
      initialBackoff: "10ms",
      maxBackoff: "80ms",
    });
    const delays: number[] = [];
    w.onError(() => {});
    w.onState((s) => {
      if (s === "backoff") delays.push(w.health().nextRetryIn ?? -1);
    });
    w.start();
    await waitFor(() => delays.length >= 6, { timeout: 5000 });
    succeedOnce = true;
    await waitFor(() => w.health().delivered === 1, { timeout: 5000 });
    await waitFor(() => delays.length >= 8, { timeout: 5000 });
    await w.stop();
    const nominal = delays.map((d) => Math.round(d / 10) * 10);
    const expected = [10, 20, 40, 80, 80, 80];
    const ok = expected.every((d, i) => nominal[i] === d) && nominal[nominal.length - 2] === 10;
    return { figure: `delays ${nominal.join(", ")} ms (reset to 10 after the success)`, ok };
  },
);

await g.check(
  "poll stuck in synchronous code in a worker",
  "killed within timeout + 100 ms; the other watchers on that worker keep delivering",
  async () => {
    const { p, healthy } = await healthyNeighbour();
    const started = new Float64Array(new SharedArrayBuffer(8));
    const hung = new Watcher("hung", {
      poll: { module: sources, export: "hangSyncAt", args: [started] },
      interval: "1h",
      timeout: "200ms",
      initialBackoff: "1h",
      pool: p,
    });
    let killedAt = 0;
    hung.onError(() => {
      killedAt ||= Date.now();
    });
    hung.start();
    await waitFor(() => killedAt > 0 && p.stats().deaths === 1, { timeout: 3000 });
    const before = healthy.health().delivered;
    await waitFor(() => healthy.health().delivered >= before + 5, { timeout: 3000 });
    const after = healthy.health();
    await Promise.all([healthy.stop(), hung.stop()]);
    const killMs = killedAt - (started[0] ?? 0);
    return {
      figure: `killed ${killMs} ms after the poll began (timeout 200 ms); neighbour delivered ${after.delivered - before} more, workerRestarts ${after.workerRestarts}`,
      ok: killMs <= 300 && after.errorCount === 0 && after.workerRestarts === 1,
    };
  },
);

await g.check(
  "worker that exits or throws while loading its module",
  "that watcher fails with a load error; its neighbours carry on",
  async () => {
    const { p, healthy } = await healthyNeighbour();
    const bad = ["exit-at-load.ts", "throw-at-load.ts"].map(
      (file) =>
        new Watcher(file, {
          poll: { module: new URL(file, fixtures), export: "poll" },
          interval: "10ms",
          pool: p,
        }),
    );
    const errors: string[] = [];
    for (const w of bad) {
      w.onError((e) => void errors.push(`${e.phase}: ${e.message}`));
      w.start();
      await waitFor(() => w.state === "failed", { timeout: 3000 });
    }
    const before = healthy.health().delivered;
    await waitFor(() => healthy.health().delivered >= before + 3, { timeout: 3000 });
    await Promise.all([healthy, ...bad].map((w) => w.stop()));
    const ok =
      errors.length === 2 &&
      errors.every((e) => e.startsWith("load:")) &&
      healthy.health().errorCount === 0;
    return {
      figure: `${errors.length} load errors (${errors.map((e) => e.split("cannot load the source: ")[1]?.slice(0, 55)).join(" | ")}); neighbour unharmed`,
      ok,
    };
  },
);

await g.check(
  "stream that ends at once",
  "reopened after the backoff delay, never a busy loop",
  async () => {
    let opens = 0;
    const w = new Watcher("empty", {
      stream: () => {
        opens++;
        return [];
      },
      initialBackoff: "20ms",
      maxBackoff: "100ms",
    });
    w.start();
    const t0 = performance.now();
    await Bun.sleep(2000); // measuring a rate over a fixed window
    const seconds = (performance.now() - t0) / 1000;
    await w.stop();
    const perSecond = opens / seconds;
    return {
      figure: `${perSecond.toFixed(1)} reopenings/s (backoff 20→100 ms)`,
      ok: perSecond <= 12 && opens >= 5,
    };
  },
);

await g.check(
  "subscriber that throws on every value",
  "reported each time; the other subscribers still get every value",
  async () => {
    let n = 0;
    const w = new Watcher("noisy", { poll: () => ++n, interval: "2ms" });
    let errors = 0;
    const got: number[] = [];
    w.onError(() => void errors++);
    w.subscribe(() => {
      throw new Error("subscriber bug");
    });
    w.subscribe((v) => void got.push(v));
    w.start();
    await waitFor(() => got.length >= 100, { timeout: 3000 });
    await w.stop();
    const inOrder = got.every((v, i) => v === i + 1);
    return {
      figure: `${got.length} values delivered in order, ${errors} subscriber errors reported`,
      ok: inOrder && errors === got.length,
    };
  },
);

await g.check(
  "1,000 watchers started and stopped concurrently",
  "all deliver, all stop, no worker left",
  async () => {
    const p = pool({ size: 2 });
    const ws = Array.from(
      { length: 1000 },
      (_, i) =>
        new Watcher(`w${i}`, {
          poll: { module: sources, export: "counter" },
          interval: "50ms",
          pool: p,
        }),
    );
    const t0 = performance.now();
    for (const w of ws) w.start();
    await waitFor(() => ws.every((w) => w.health().delivered > 0), { timeout: 10_000 });
    const startMs = since(t0);
    const t1 = performance.now();
    await Promise.all(ws.map((w) => w.stop()));
    const stopMs = since(t1);
    const states = new Set(ws.map((w) => w.state));
    return {
      figure: `all 1000 delivered within ${startMs} ms; stopped in ${stopMs} ms; states ${[...states].join(",")}; workers left ${p.stats().workers}`,
      ok: states.size === 1 && states.has("stopped") && p.stats().workers === 0,
    };
  },
);

await g.done();
