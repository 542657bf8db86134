/**
 * The fast path of option validation: the options zod would accept, checked without zod (see
 * fastParse). Internal.
 */
import { MAX_TIMER_MS, MIN_BACKOFF_MS, tryParseDuration } from "@specter/core";
import { KNOWN, type Parsed } from "./options-schema.ts";
import { WorkerPool } from "./pool.ts";

/**
 * Durations already parsed, by their text: watchers are made by the thousand with the same few
 * strings ("1s"), and each parse allocates its regex matches. Bounded, since the texts are the
 * caller's.
 */
const durations = new Map<string, number>();

/** The `min` of a duration that must be greater than 0 (0.5 ms is). */
const POSITIVE = Number.MIN_VALUE;

/** `min`: the shortest duration accepted, in milliseconds. */
function fastDuration(value: unknown, fallback: number, min: number): number | undefined {
  if (value === undefined) return fallback;
  let ms: number | undefined;
  if (typeof value === "string") {
    ms = durations.get(value);
    if (ms === undefined) {
      ms = tryParseDuration(value);
      if (ms !== undefined && durations.size < 256) durations.set(value, ms);
    }
  } else ms = tryParseDuration(value);
  if (ms === undefined || ms > MAX_TIMER_MS || ms < min) return undefined;
  return ms;
}

/**
 * Validates without zod the options zod would accept, and gives up (returns `undefined`) at the
 * first doubt, so zod then produces the error. Why: 10,000 zod parses added 18.8 MB RSS (the heap
 * grew to hold their garbage before a collection) for 2.6 MB of retained configs, and took 47 ms.
 * The rules are options-schema.ts's; lean.test.ts holds the two paths to the same results.
 */
export function fastParse(input: unknown): Parsed | undefined {
  if (input === null || typeof input !== "object") return undefined;
  const proto = Object.getPrototypeOf(input);
  if (proto !== Object.prototype && proto !== null) return undefined;
  for (const key in input) if (!KNOWN.has(key)) return undefined;
  const o = input as Record<string, unknown>;
  const poll = fastSource(o.poll);
  const stream = fastSource(o.stream);
  if (poll === null || stream === null) return undefined;
  if ((poll === undefined) === (stream === undefined)) return undefined;
  const interval = o.interval === undefined ? undefined : fastDuration(o.interval, 0, POSITIVE);
  const timeout = o.timeout === undefined ? undefined : fastDuration(o.timeout, 0, POSITIVE);
  if (
    (o.interval !== undefined && interval === undefined) ||
    (o.timeout !== undefined && timeout === undefined)
  )
    return undefined;
  if (poll !== undefined ? interval === undefined : interval !== undefined || timeout !== undefined)
    return undefined;
  const retry = o.retry ?? true;
  if (typeof retry !== "boolean") return undefined;
  const initialBackoff = fastDuration(o.initialBackoff, 1_000, MIN_BACKOFF_MS);
  if (initialBackoff === undefined) return undefined;
  const maxBackoff =
    o.maxBackoff === undefined ? undefined : fastDuration(o.maxBackoff, 0, MIN_BACKOFF_MS);
  if (o.maxBackoff !== undefined && (maxBackoff === undefined || maxBackoff < initialBackoff))
    return undefined;
  const jitter = o.jitter ?? false;
  if (typeof jitter !== "boolean" && !(typeof jitter === "number" && jitter >= 0 && jitter <= 1))
    return undefined;
  const dedupe = o.dedupe ?? false;
  if (typeof dedupe !== "boolean" && typeof dedupe !== "function") return undefined;
  if (o.transform !== undefined && typeof o.transform !== "function") return undefined;
  const stopTimeout = fastDuration(o.stopTimeout, 5_000, 0);
  if (stopTimeout === undefined) return undefined;
  const worker = o.worker ?? "shared";
  if (worker !== "shared" && worker !== "dedicated") return undefined;
  const isolation = o.isolation ?? "worker";
  if (isolation !== "worker" && (isolation !== "process" || worker !== "shared" || o.pool))
    return undefined;
  if (o.pool !== undefined && !(o.pool instanceof WorkerPool)) return undefined;
  const fn = typeof (poll ?? stream) === "function";
  if (fn && (worker !== "shared" || o.pool !== undefined || isolation !== "worker"))
    return undefined;
  return {
    poll,
    stream,
    interval,
    timeout,
    retry,
    initialBackoff,
    maxBackoff,
    jitter,
    dedupe,
    transform: o.transform,
    stopTimeout,
    worker,
    isolation,
    pool: o.pool,
  } as Parsed;
}

/** A source as zod would output it; `undefined` when absent, `null` when in doubt. */
function fastSource(value: unknown): unknown {
  if (value === undefined || typeof value === "function") return value;
  if (value === null || typeof value !== "object") return null;
  if (Object.getPrototypeOf(value) !== Object.prototype) return null;
  const m = value as Record<string, unknown>;
  for (const key in m) if (key !== "module" && key !== "export" && key !== "args") return null;
  const module = m.module;
  if (!(module instanceof URL) && !(typeof module === "string" && module.length > 0)) return null;
  if (m.export !== undefined && !(typeof m.export === "string" && m.export.length > 0)) return null;
  if (m.args !== undefined && !Array.isArray(m.args)) return null;
  const source: { module: URL | string; export?: string; args?: unknown[] } = { module };
  if (m.export !== undefined) source.export = m.export;
  // zod copies an array it parses: the watcher keeps its own.
  if (m.args !== undefined) source.args = (m.args as unknown[]).slice();
  return source;
}
