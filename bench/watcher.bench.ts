/**
 * Watcher stream throughput (items/s to a subscriber) from a Worker-hosted and a function source,
 * against bare postMessage from a worker (per item, and batched like ours) in the same run; for
 * numbers and for small objects `{ i }` (what users send). Many poll watchers:
 * bench/pollers.bench.ts.
 */
import { Watcher } from "@specter/watcher";

const STREAM_ITEMS = 10_000_000;
const RAW_SINGLE_ITEMS = 2_000_000;
const OBJECT_ITEMS = 5_000_000;
const sources = new URL("./fixtures/sources.ts", import.meta.url);

async function rawWorker(count: number, batch: number, objects = false): Promise<number> {
  const worker = new Worker(new URL("./fixtures/raw-worker.ts", import.meta.url).href);
  let received = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    worker.onmessage = (event) => {
      const data = event.data;
      if (data === "done") resolve();
      else if (Array.isArray(data)) received += data.length;
      else received++;
    };
    worker.postMessage({ count, batch, objects });
  });
  const seconds = (performance.now() - t0) / 1000;
  worker.terminate();
  if (received !== count) throw new Error(`raw worker delivered ${received} of ${count}`);
  return count / seconds;
}

async function watcherStream(
  kind: "worker" | "function" | "objects",
  count: number,
): Promise<number> {
  const stream =
    kind === "function"
      ? function* () {
          for (let i = 0; i < count; i++) yield i;
        }
      : { module: sources, export: kind === "objects" ? "objects" : "items", args: [count] };
  const w = new Watcher<number | { i: number }>(`bench-${kind}`, { stream, retry: false });
  let received = 0;
  let sum = 0;
  w.subscribe((v) => {
    received++;
    sum += typeof v === "number" ? v : v.i;
  });
  const ended = new Promise<void>((resolve) => w.onState((s) => s === "ended" && resolve()));
  const t0 = performance.now();
  w.start();
  await ended;
  const seconds = (performance.now() - t0) / 1000;
  await w.stop();
  if (received !== count || sum !== (count * (count - 1)) / 2)
    throw new Error(`${kind} stream lost or reordered items`);
  return count / seconds;
}

// Interleaved rounds, median of each: one round alone swings ±30% on a shared 2-core machine.
const ROUNDS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
// Warm up both paths once so JIT tiers are comparable, then measure.
await watcherStream("worker", 200_000);
await watcherStream("function", 200_000);
await watcherStream("objects", 200_000);
const samples = {
  rawObjects: [] as number[],
  objects: [] as number[],
  rawSingle: [] as number[],
  rawBatched: [] as number[],
  worker: [] as number[],
  fn: [] as number[],
};
for (let round = 0; round < ROUNDS; round++) {
  samples.rawSingle.push(await rawWorker(RAW_SINGLE_ITEMS, 1));
  samples.rawBatched.push(await rawWorker(STREAM_ITEMS, 4096));
  samples.worker.push(await watcherStream("worker", STREAM_ITEMS));
  samples.fn.push(await watcherStream("function", STREAM_ITEMS));
  samples.rawObjects.push(await rawWorker(OBJECT_ITEMS, 4096, true));
  samples.objects.push(await watcherStream("objects", OBJECT_ITEMS));
}
const rawSingle = median(samples.rawSingle);
const rawBatched = median(samples.rawBatched);
const workerStream = median(samples.worker);
const functionStream = median(samples.fn);
const rawObjects = median(samples.rawObjects);
const objectStream = median(samples.objects);

const stream = {
  items: STREAM_ITEMS,
  rounds: ROUNDS,
  workerWatcherRounds: samples.worker.map(Math.round),
  functionWatcherRounds: samples.fn.map(Math.round),
  rawPostMessagePerItem: Math.round(rawSingle),
  rawPostMessageBatched: Math.round(rawBatched),
  workerWatcher: Math.round(workerStream),
  functionWatcher: Math.round(functionStream),
  workerVsRawPerItem: +(workerStream / rawSingle).toFixed(2),
  workerVsRawBatched: +(workerStream / rawBatched).toFixed(2),
  functionVsRawBatched: +(functionStream / rawBatched).toFixed(2),
};
const objects = {
  items: OBJECT_ITEMS,
  rawBatchedRounds: samples.rawObjects.map(Math.round),
  workerWatcherRounds: samples.objects.map(Math.round),
  roundRatios: samples.objects.map((o, i) => +(o / (samples.rawObjects[i] as number)).toFixed(2)),
  rawPostMessageBatched: Math.round(rawObjects),
  workerWatcher: Math.round(objectStream),
  workerVsRawBatched: +(objectStream / rawObjects).toFixed(2),
};

const fmt = (n: number) => `${(n / 1e6).toFixed(2)} M/s`;
console.log(`stream items/s to one subscriber (median of ${ROUNDS} interleaved rounds)`);
console.table([
  {
    source: "raw postMessage, one item per message (baseline)",
    rate: fmt(rawSingle),
    ratio: "1.00x",
  },
  {
    source: "raw postMessage, 4096 per message (ceiling)",
    rate: fmt(rawBatched),
    ratio: `${(rawBatched / rawSingle).toFixed(2)}x`,
  },
  {
    source: "Watcher, module source in a Worker",
    rate: fmt(workerStream),
    ratio: `${(workerStream / rawSingle).toFixed(2)}x`,
  },
  {
    source: "Watcher, function source (main thread)",
    rate: fmt(functionStream),
    ratio: `${(functionStream / rawSingle).toFixed(2)}x`,
  },
]);
console.log(`objects { i }: Watcher module source vs a bare Worker posting batches of 4096`);
console.table([
  { source: "raw postMessage, 4096 objects per message", rate: fmt(rawObjects), ratio: "1.00x" },
  {
    source: "Watcher, module source in a Worker, objects",
    rate: fmt(objectStream),
    ratio: `${(objectStream / rawObjects).toFixed(2)}x`,
  },
]);

const results = { stream, objects };
if (process.env.BENCH_OUT) await Bun.write(process.env.BENCH_OUT, JSON.stringify(results));
