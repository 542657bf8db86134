/**
 * Many poll watchers at 1 Hz for 5 s, function and module sources: RSS added, CPU seconds, share
 * of ticks on time (value delivered within 50 ms of its tick).
 */
import { Watcher } from "@specter/watcher";

const POLLERS = Number(process.env.BENCH_POLLERS ?? 10_000);
const POLL_SECONDS = 5;
const ON_TIME_MS = 50;
const sources = new URL("./fixtures/sources.ts", import.meta.url);

function rssMb(): number {
  return process.memoryUsage().rss / 1024 / 1024;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function pollers(kind: "worker" | "function") {
  Bun.gc(true);
  await Bun.sleep(200);
  const rss0 = rssMb();
  let n = 0;
  const poll = kind === "worker" ? { module: sources, export: "reading" } : () => ++n;
  const arrivals: number[][] = [];
  const c0 = performance.now();
  const watchers = Array.from({ length: POLLERS }, (_, i) => {
    const times: number[] = [];
    arrivals.push(times);
    const w = new Watcher(`p${i}`, { poll, interval: "1s" });
    w.subscribe(() => {
      times.push(performance.now());
    });
    return w;
  });
  const createMs = performance.now() - c0;
  const cpu0 = cpuSeconds();
  for (const w of watchers) w.start();
  const anchor = performance.now();
  await Bun.sleep(POLL_SECONDS * 1000);
  const cpu = cpuSeconds() - cpu0;
  const rss = rssMb() - rss0;
  await Promise.all(watchers.map((w) => w.stop()));
  // Tick k of a watcher is due at anchor + k s, where the anchor is when its first poll began
  // (after this loop, staggered by worker start-up). We estimate each watcher's anchor from its
  // own earliest tick (min over k of arrival_k - k s): lateness is then how much later than its
  // best tick each tick arrived. Ticks 1..POLL_SECONDS-1 fall inside the window; tick 0 includes
  // loading the source and is reported apart (allFirstValuesMs). A missing tick is not on time.
  let onTime = 0;
  const lateness: number[] = [];
  for (const times of arrivals) {
    let base = Number.POSITIVE_INFINITY;
    for (let k = 1; k < POLL_SECONDS; k++)
      base = Math.min(base, (times[k] ?? Number.POSITIVE_INFINITY) - k * 1000);
    for (let k = 1; k < POLL_SECONDS; k++) {
      const at = times[k];
      if (at === undefined) continue;
      const delay = at - (base + k * 1000);
      lateness.push(delay);
      if (delay <= ON_TIME_MS) onTime++;
    }
  }
  lateness.sort((a, b) => a - b);
  const expected = POLLERS * (POLL_SECONDS - 1);
  const firstValueMs = Math.max(...arrivals.map((t) => t[0] ?? Number.POSITIVE_INFINITY)) - anchor;
  return {
    watchers: POLLERS,
    createMs: Math.round(createMs),
    rssAddedMb: +rss.toFixed(1),
    cpuSeconds: +cpu.toFixed(2),
    cpuPerPollUs: +((cpu / (POLLERS * POLL_SECONDS)) * 1e6).toFixed(1),
    ticksOnTime: +(onTime / expected).toFixed(4),
    latenessP50Ms: +(lateness[Math.floor(lateness.length * 0.5)] ?? Number.NaN).toFixed(1),
    latenessP99Ms: +(lateness[Math.floor(lateness.length * 0.99)] ?? Number.NaN).toFixed(1),
    allFirstValuesMs: Math.round(firstValueMs),
  };
}

const functionPollers = await pollers("function");
const workerPollers = await pollers("worker");
console.log(`${POLLERS} poll watchers at 1 Hz for ${POLL_SECONDS} s`);
console.table({ function: functionPollers, worker: workerPollers });
console.log(
  `worker vs function: ${(workerPollers.cpuSeconds / functionPollers.cpuSeconds).toFixed(2)}x CPU, ` +
    `${(workerPollers.rssAddedMb / Math.max(1, functionPollers.rssAddedMb)).toFixed(2)}x RSS`,
);

const results = { pollers: { function: functionPollers, worker: workerPollers } };
if (process.env.BENCH_OUT) await Bun.write(process.env.BENCH_OUT, JSON.stringify(results));
