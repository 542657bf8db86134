/**
 * Many poll watchers at 1 Hz for 5 s, function and module sources: RSS added, CPU seconds, share
 * of ticks on time (value delivered within 50 ms of its tick). Rows: BENCH_POLLERS (default
 * 10,000) function and module watchers, BENCH_POLLERS_LARGE (default 100,000; 0 skips it)
 * function watchers, and the Python original's published figures for 10,000 pollers as the
 * reference. Each row runs in a process of its own, so one row's freed heap cannot hide the next
 * one's growth.
 */
import { Watcher } from "@specter/watcher";

const POLLERS = Number(process.env.BENCH_POLLERS ?? 10_000);
const LARGE = Number(process.env.BENCH_POLLERS_LARGE ?? 100_000);
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

async function pollers(kind: "worker" | "function", POLLERS: number) {
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
  // CPU from the end of the first second on: ticks only, without start-up and first polls.
  await Bun.sleep(1000);
  const cpu1 = cpuSeconds();
  await Bun.sleep((POLL_SECONDS - 1) * 1000);
  const cpu5 = cpuSeconds();
  const cpu = cpu5 - cpu0;
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
    /** The CPU of seconds 1 to 5, scaled to 5 s: what steady polling costs. */
    tickCpuPer5s: +(((cpu5 - cpu1) * POLL_SECONDS) / (POLL_SECONDS - 1)).toFixed(2),
    cpuPerPollUs: +((cpu / (POLLERS * POLL_SECONDS)) * 1e6).toFixed(1),
    ticksOnTime: +(onTime / expected).toFixed(4),
    latenessP50Ms: +(lateness[Math.floor(lateness.length * 0.5)] ?? Number.NaN).toFixed(1),
    latenessP99Ms: +(lateness[Math.floor(lateness.length * 0.99)] ?? Number.NaN).toFixed(1),
    allFirstValuesMs: Math.round(firstValueMs),
  };
}

type Row = Awaited<ReturnType<typeof pollers>>;

/** One row in a child process: `bun pollers.bench.ts --row function 10000` prints its JSON. */
async function row(kind: "worker" | "function", count: number): Promise<Row> {
  const child = Bun.spawn([process.execPath, import.meta.path, "--row", kind, String(count)], {
    stdout: "pipe",
    stderr: "inherit",
    env: { ...process.env, BENCH_OUT: "" },
  });
  const out = await new Response(child.stdout).text();
  if ((await child.exited) !== 0) throw new Error(`the ${kind} x${count} row failed`);
  return JSON.parse(out) as Row;
}

if (process.argv[2] === "--row") {
  const result = await pollers(process.argv[3] as "worker" | "function", Number(process.argv[4]));
  console.log(JSON.stringify(result));
  process.exit(0);
}

/** The Python original, 10,000 pollers at 1 Hz (its published figures; not measured here). */
const python = { watchers: 10_000, rssAddedMb: 100, cpuSeconds: 0.51, ticksOnTime: 0.965 };

const functionPollers = await row("function", POLLERS);
const workerPollers = await row("worker", POLLERS);
const largePollers = LARGE > 0 ? await row("function", LARGE) : undefined;
console.log(`poll watchers at 1 Hz for ${POLL_SECONDS} s`);
const table: Record<string, Partial<Row>> = {
  function: functionPollers,
  worker: workerPollers,
};
if (largePollers) table[`function x${LARGE}`] = largePollers;
table["python (reference)"] = python;
console.table(table);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
console.log(
  `worker vs function: ${ratio(workerPollers.cpuSeconds, functionPollers.cpuSeconds)} CPU, ` +
    `${ratio(workerPollers.rssAddedMb, Math.max(1, functionPollers.rssAddedMb))} RSS`,
);
if (POLLERS === python.watchers) {
  console.log(
    `vs python at ${POLLERS}: function ${ratio(functionPollers.rssAddedMb, python.rssAddedMb)} RSS, ` +
      `${ratio(functionPollers.cpuSeconds, python.cpuSeconds)} CPU; worker ` +
      `${ratio(workerPollers.rssAddedMb, python.rssAddedMb)} RSS, ` +
      `${ratio(workerPollers.cpuSeconds, python.cpuSeconds)} CPU`,
  );
}
if (largePollers) {
  console.log(
    `${LARGE} vs ${POLLERS} function watchers: ${ratio(largePollers.rssAddedMb, functionPollers.rssAddedMb)} RSS, ` +
      `${ratio(largePollers.cpuSeconds, functionPollers.cpuSeconds)} CPU`,
  );
}

const results = {
  pollers: { function: functionPollers, worker: workerPollers, large: largePollers, python },
};
if (process.env.BENCH_OUT) await Bun.write(process.env.BENCH_OUT, JSON.stringify(results));
