/**
 * Lines per second through `ManagedProcess.watchStream` for `seq 1 5000000`, against baselines
 * measured in the same run:
 *
 * - bare:            Bun.spawn + reader.read() + one streaming TextDecoder per chunk + indexOf("\n")
 *                    (the floor: watchStream must reach 0.8x of it)
 * - bare-segments:   Bun.spawn + lastIndexOf(10) on the Uint8Array, one decode() per chunk up to
 *                    its last newline, the tail carried as bytes
 * - bare-bytes:      Bun.spawn + indexOf(10) on the Uint8Array + one decode() per line
 *                    (the two byte-splitting designs, measured to justify the choice in lines.ts)
 * - execa:           `for await (const line of execa(...))`
 * - node-readline:   node:readline over child_process.spawn
 *
 * Every variant must see all 5,000,000 lines with the same total length, or the bench fails.
 * Rounds are interleaved and the median is reported: this machine's pipe throughput varies from
 * run to run by tens of percent, so a single run proves little.
 *
 * `bun bench/process.bench.ts` alone, or `bun run bench` for all benches.
 */
import { spawn as nodeSpawn } from "node:child_process";
import { createInterface } from "node:readline";
import { execa } from "execa";
import { ManagedProcess } from "../packages/process/src/index.ts";

const N = Number(process.env.BENCH_LINES ?? 5_000_000);
const ARGV = ["seq", "1", String(N)];
const FAST_ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const SLOW_ROUNDS = Math.max(1, Math.ceil(FAST_ROUNDS / 3));

/** What every variant does with a line: count it and add its length (so nothing is optimised away). */
interface Tally {
  lines: number;
  chars: number;
}

async function bare(t: Tally): Promise<void> {
  const child = Bun.spawn(ARGV, { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let rest = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const text = rest + decoder.decode(value, { stream: true });
    let start = 0;
    let i = text.indexOf("\n");
    while (i !== -1) {
      const line = text.slice(start, i);
      t.lines++;
      t.chars += line.length;
      start = i + 1;
      i = text.indexOf("\n", start);
    }
    rest = text.slice(start);
  }
  await child.exited;
}

async function bareBytes(t: Tally): Promise<void> {
  const child = Bun.spawn(ARGV, { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let carry: Uint8Array | undefined;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    let bytes: Uint8Array = value;
    if (carry) {
      bytes = new Uint8Array(carry.length + value.length);
      bytes.set(carry);
      bytes.set(value, carry.length);
      carry = undefined;
    }
    let start = 0;
    let i = bytes.indexOf(10);
    while (i !== -1) {
      const line = decoder.decode(bytes.subarray(start, i));
      t.lines++;
      t.chars += line.length;
      start = i + 1;
      i = bytes.indexOf(10, start);
    }
    if (start < bytes.length) carry = bytes.slice(start);
  }
  await child.exited;
}

async function bareSegments(t: Tally): Promise<void> {
  // Split on byte 10: decode each chunk once up to its last newline; carry the tail as bytes.
  const child = Bun.spawn(ARGV, { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let carry: Uint8Array | undefined;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const last = value.lastIndexOf(10);
    if (last === -1) {
      carry = carry ? concat(carry, value) : value.slice();
      continue;
    }
    const head = carry ? concat(carry, value.subarray(0, last)) : value.subarray(0, last);
    carry = last + 1 < value.length ? value.slice(last + 1) : undefined;
    const text = decoder.decode(head);
    let start = 0;
    let i = text.indexOf("\n");
    for (;;) {
      const line = i === -1 ? text.slice(start) : text.slice(start, i);
      t.lines++;
      t.chars += line.length;
      if (i === -1) break;
      start = i + 1;
      i = text.indexOf("\n", start);
    }
  }
  await child.exited;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

async function managed(t: Tally): Promise<void> {
  const proc = new ManagedProcess("bench");
  proc.watchStream("stdout", (line) => {
    t.lines++;
    t.chars += line.length;
  });
  proc.start(ARGV, { stdout: "pipe" });
  await proc.wait();
}

async function managedTwo(t: Tally): Promise<void> {
  // Two callbacks on one stream: the fan-out cost. Counts each line once.
  const proc = new ManagedProcess("bench");
  let other = 0;
  proc.watchStream("stdout", (line) => {
    t.lines++;
    t.chars += line.length;
  });
  proc.watchStream("stdout", () => {
    other++;
  });
  proc.start(ARGV, { stdout: "pipe" });
  await proc.wait();
  if (other !== t.lines) throw new Error(`second watcher saw ${other} of ${t.lines} lines`);
}

async function execaLines(t: Tally): Promise<void> {
  const [program, ...args] = ARGV as [string, ...string[]];
  for await (const line of execa(program, args)) {
    t.lines++;
    t.chars += line.length;
  }
}

async function nodeReadline(t: Tally): Promise<void> {
  const [program, ...args] = ARGV as [string, ...string[]];
  const child = nodeSpawn(program, args, { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.once("close", resolve));
  const lines = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    t.lines++;
    t.chars += line.length;
  }
  await exited;
}

interface Variant {
  name: string;
  run: (t: Tally) => Promise<void>;
  rounds: number;
  note: string;
}

const variants: Variant[] = [
  { name: "bare", run: bare, rounds: FAST_ROUNDS, note: "Bun.spawn + decode chunk + indexOf" },
  {
    name: "watchStream",
    run: managed,
    rounds: FAST_ROUNDS,
    note: "ManagedProcess, 1 watcher",
  },
  {
    name: "watchStream x2",
    run: managedTwo,
    rounds: FAST_ROUNDS,
    note: "ManagedProcess, 2 watchers",
  },
  {
    name: "bare-segments",
    run: bareSegments,
    rounds: FAST_ROUNDS,
    note: "lastIndexOf(10), decode once per chunk",
  },
  {
    name: "bare-bytes",
    run: bareBytes,
    rounds: SLOW_ROUNDS,
    note: "indexOf(10) + decode per line",
  },
  { name: "execa", run: execaLines, rounds: SLOW_ROUNDS, note: "for await (line of execa())" },
  {
    name: "node-readline",
    run: nodeReadline,
    rounds: SLOW_ROUNDS,
    note: "readline over child_process",
  },
];

const expectedChars = (() => {
  let chars = 0;
  for (let digits = 1, low = 1; low <= N; digits++, low *= 10) {
    chars += (Math.min(N, low * 10 - 1) - low + 1) * digits;
  }
  return chars;
})();

const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
const maxRounds = Math.max(...variants.map((v) => v.rounds));
// One warm-up run of each (JIT, page cache for seq), not counted.
for (const v of variants) await v.run({ lines: 0, chars: 0 });
for (let round = 0; round < maxRounds; round++) {
  for (const v of variants) {
    if (round >= v.rounds) continue;
    Bun.gc(true);
    const tally: Tally = { lines: 0, chars: 0 };
    const started = performance.now();
    await v.run(tally);
    const seconds = (performance.now() - started) / 1_000;
    if (tally.lines !== N || tally.chars !== expectedChars) {
      throw new Error(
        `${v.name}: saw ${tally.lines} lines / ${tally.chars} chars, expected ${N} / ${expectedChars}`,
      );
    }
    samples.get(v.name)?.push(N / seconds);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const baseline = median(samples.get("bare") as number[]);
const results: Record<string, unknown> = {};
const rows = variants.map((v) => {
  const xs = samples.get(v.name) as number[];
  const med = median(xs);
  const ratio = med / baseline;
  results[v.name] = {
    note: v.note,
    runs: xs.length,
    medianLinesPerSec: Math.round(med),
    bestLinesPerSec: Math.round(Math.max(...xs)),
    worstLinesPerSec: Math.round(Math.min(...xs)),
    ratioToBare: Number(ratio.toFixed(3)),
  };
  return {
    variant: v.name,
    "median Mlines/s": (med / 1e6).toFixed(1),
    "best Mlines/s": (Math.max(...xs) / 1e6).toFixed(1),
    "x bare": ratio.toFixed(2),
    runs: xs.length,
    what: v.note,
  };
});
console.log(
  `seq 1 ${N}: lines/s, median of interleaved runs (${navigator.hardwareConcurrency} cpus)`,
);
console.table(rows);
const watchRatio = (results.watchStream as { ratioToBare: number }).ratioToBare;
const summary = {
  lines: N,
  target: 0.8,
  watchStreamRatio: watchRatio,
  meetsTarget: watchRatio >= 0.8,
  variants: results,
};
console.log(
  `watchStream = ${watchRatio.toFixed(2)}x bare (target >= 0.8x): ${summary.meetsTarget ? "met" : "NOT met"}`,
);
if (process.env.BENCH_OUT) await Bun.write(process.env.BENCH_OUT, JSON.stringify(summary, null, 2));
