/**
 * How long stop() takes when the source is parked in an await (the common case: a stream waiting
 * for its next event, a poll waiting on I/O), for poll and stream sources given as functions and
 * as modules (in a Worker), and for a Service that owns ten such watchers (its cleanups run one
 * after another). stopTimeout stays at its 5 s default: it bounds only synchronous source code.
 */
import { Service } from "@specter/service";
import { Watcher, type WatcherOptions } from "@specter/watcher";

const REPEATS = 15;
const SERVICE_REPEATS = 7;
const parked = new URL("./fixtures/parked.ts", import.meta.url);
const never = () => new Promise<never>(() => {});

type Case = { name: string; options: () => WatcherOptions<unknown> };
const cases: Case[] = [
  {
    name: "poll, function",
    options: () => ({ poll: never, interval: "1h" }),
  },
  {
    name: "stream, function",
    options: () => ({
      stream: async function* () {
        yield 1;
        await never();
      },
    }),
  },
  {
    name: "poll, module (shared worker)",
    options: () => ({ poll: { module: parked, export: "parkedPoll" }, interval: "1h" }),
  },
  {
    name: "stream, module (shared worker)",
    options: () => ({ stream: { module: parked, export: "parkedStream" } }),
  },
  {
    name: "stream, module (dedicated worker)",
    options: () => ({ stream: { module: parked, export: "parkedStream" }, worker: "dedicated" }),
  },
];

/** Starts the watcher and waits until its source is parked: the first value, or a moment for a poll. */
async function parkedWatcher(name: string, options: WatcherOptions<unknown>): Promise<Watcher> {
  const w = new Watcher(name, options);
  const first = new Promise<void>((resolve) => w.subscribe(() => resolve()));
  w.start();
  if ("stream" in options) await first;
  else await Bun.sleep(30);
  return w;
}

async function stopOne(c: Case): Promise<number> {
  const w = await parkedWatcher(c.name, c.options());
  const t0 = performance.now();
  await w.stop();
  return performance.now() - t0;
}

async function stopService(c: Case): Promise<number> {
  const svc = new Service("ten", {
    onStart: async (s) => {
      for (let i = 0; i < 10; i++) s.own(await parkedWatcher(`${c.name} ${i}`, c.options()));
    },
  });
  await svc.start();
  const t0 = performance.now();
  await svc.stop();
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const max = (xs: number[]) => Math.max(...xs);
const rows: { case: string; medianMs: number; maxMs: number; target: string }[] = [];
for (const c of cases) {
  await stopOne(c); // warm up: the first worker start and module import
  const samples: number[] = [];
  for (let i = 0; i < REPEATS; i++) samples.push(await stopOne(c));
  rows.push({
    case: `one watcher, ${c.name}`,
    medianMs: +median(samples).toFixed(2),
    maxMs: +max(samples).toFixed(2),
    target: "≤ 50 ms",
  });
}
for (const c of cases.filter((c) => c.name.startsWith("stream"))) {
  const samples: number[] = [];
  for (let i = 0; i < SERVICE_REPEATS; i++) samples.push(await stopService(c));
  rows.push({
    case: `Service of ten, ${c.name}`,
    medianMs: +median(samples).toFixed(2),
    maxMs: +max(samples).toFixed(2),
    target: "≤ 100 ms",
  });
}

console.log(
  `stop() of watchers whose source is parked (median of ${REPEATS}, Service: of ${SERVICE_REPEATS}; stopTimeout 5 s)`,
);
console.table(rows);
const results = { repeats: REPEATS, serviceRepeats: SERVICE_REPEATS, rows };
if (process.env.BENCH_OUT) await Bun.write(process.env.BENCH_OUT, JSON.stringify(results));
