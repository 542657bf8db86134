/**
 * One shared `/proc` scan per tick for every run being terminated, instead of each polling on its
 * own: stopping 50 groups whose leader exits on SIGTERM but whose grandchild ignores it used to
 * scan `/proc` 50 times every 10 ms (a whole core for the 3 s terminateTimeout). Now a tick scans
 * once and steps every pending termination with that snapshot; ticks back off from 10 ms to
 * 100 ms while nothing happens, and come at once when something does (a termination starts, a
 * leader exits) or when a deadline is due.
 */
import { type Snapshot, snapshot } from "./run-tree.ts";

/** A termination in progress, stepped once per tick. */
export interface Watched {
  /**
   * Looks at the snapshot, signals what it must, and returns when it next needs a tick
   * (`performance.now()` time; the tick may come sooner), or `undefined` once it is done. Never
   * throws: a termination settles its own promise, also with an error.
   */
  step(snap: Snapshot, now: number): number | undefined;
}

const FIRST_MS = 10;
const MAX_MS = 100;

const watched = new Set<Watched>();
let timer: Timer | undefined;
let immediate: ReturnType<typeof setImmediate> | undefined;
let timerAt = Number.POSITIVE_INFINITY;
let backoff = FIRST_MS;

/**
 * Steps `item` at once with the current snapshot (shared by every termination started in the
 * same synchronous pass: 200 `stop()` calls make one scan), then once per tick until its `step`
 * returns `undefined`.
 */
export function watch(item: Watched): void {
  const due = item.step(snapshot(), performance.now());
  if (due === undefined) return;
  watched.add(item);
  backoff = FIRST_MS;
  schedule(Math.min(due, performance.now() + backoff));
}

/**
 * Something changed (a leader exited, a group was signalled): tick soon, then back off again.
 * "At once" is the next turn of the event loop (setImmediate, not the 1 ms of setTimeout), so
 * that leaders reaped in the same turn share one scan.
 */
export function wake(delay = 0): void {
  backoff = FIRST_MS;
  if (watched.size > 0) schedule(performance.now() + delay);
}

/** Terminations in progress (for tests). */
export function watching(): number {
  return watched.size;
}

function schedule(at: number): void {
  if ((timer !== undefined || immediate !== undefined) && timerAt <= at) return;
  clearTimeout(timer);
  clearImmediate(immediate);
  timer = undefined;
  immediate = undefined;
  timerAt = at;
  const delay = at - performance.now();
  if (delay <= 0) immediate = setImmediate(tick);
  else timer = setTimeout(tick, delay);
}

function tick(): void {
  clearTimeout(timer);
  clearImmediate(immediate);
  timer = undefined;
  immediate = undefined;
  timerAt = Number.POSITIVE_INFINITY;
  if (watched.size === 0) return;
  const snap = snapshot();
  const now = performance.now();
  let next = Number.POSITIVE_INFINITY;
  for (const item of [...watched]) {
    const due = item.step(snap, now);
    if (due === undefined) watched.delete(item);
    else next = Math.min(next, due);
  }
  if (watched.size === 0) {
    backoff = FIRST_MS;
    return;
  }
  schedule(Math.min(now + backoff, next));
  backoff = Math.min(backoff * 2, MAX_MS);
}
