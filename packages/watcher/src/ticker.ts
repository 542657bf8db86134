/**
 * One timer for every watcher of the process: a min-heap of deadlines (poll ticks and retries)
 * and a single `setTimeout` armed for the earliest one. Each watcher keeps its own fixed-rate
 * schedule (`anchor + k * interval`, see run.ts); only the timer is shared.
 *
 * Why: a `setTimeout` per tick is a Timeout object and a closure per watcher per second. With
 * 10,000 watchers at 1 Hz that was 10,000 live timers; here it is one, and a tick costs a heap
 * pop and push (17 comparisons at 100,000 watchers) and no allocation. The timer exists only
 * while something is scheduled, so a process whose watchers all stopped can exit.
 */

/** What the ticker schedules. `slot` is its index in the heap, -1 when not scheduled. */
export interface Due {
  at: number;
  slot: number;
  due(): void;
}

/**
 * Entries due within this many milliseconds of now fire in the current pass: `setTimeout` counts
 * whole milliseconds, so the timer may wake a fraction of one early; re-arming for that fraction
 * would cost a wake-up and about a millisecond of lateness.
 */
const EARLY_MS = 1;

/**
 * Deadlines handled per macrotask before yielding (`setImmediate`) to promise callbacks and I/O:
 * a poll's result is delivered in a microtask, and a worker's answer is a message, so a pass
 * over thousands of due watchers would hold every delivery back until its end (10,000 watchers
 * at 1 Hz: p99 lateness 43 ms in whole passes, 15 ms in chunks of 32, 16 ms one by one).
 */
const CHUNK = 32;

const heap: Due[] = [];
/**
 * `heap[i].at`, kept alongside in one typed array: sifting compares deadlines of entries spread
 * over the whole heap, and reading them from the entries themselves was a cache miss per
 * comparison (the ticker's `remove` was 9% of the CPU of 100,000 watchers at 1 Hz).
 */
let ats = new Float64Array(1024);
let timer: Timer | undefined;
/** When the armed timer fires; Infinity when none is armed, -Infinity while a pass continues. */
let timerAt = Number.POSITIVE_INFINITY;
let firing = false;

/** Schedules `entry.due()` at `at` (a `performance.now()` time), replacing its previous deadline. */
export function schedule(entry: Due, at: number): void {
  if (entry.slot >= 0) remove(entry);
  entry.at = at;
  const i = heap.length;
  heap.push(entry);
  if (i === ats.length) {
    const grown = new Float64Array(ats.length * 2);
    grown.set(ats);
    ats = grown;
  }
  ats[i] = at;
  up(i, entry, at);
  if (!firing && at < timerAt) arm();
}

/** Removes `entry`'s deadline, if it has one; the timer goes when nothing is left. */
export function cancel(entry: Due): void {
  if (entry.slot < 0) return;
  remove(entry);
  if (heap.length === 0) {
    if (ats.length > 1024) ats = new Float64Array(1024);
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
      timerAt = Number.POSITIVE_INFINITY;
    }
  }
}

/** How many deadlines are scheduled, and whether the timer exists (for tests). */
export function tickerStats(): { scheduled: number; timer: boolean } {
  return { scheduled: heap.length, timer: timer !== undefined };
}

function arm(): void {
  if (timer !== undefined) clearTimeout(timer);
  const first = heap[0];
  if (!first) {
    timer = undefined;
    timerAt = Number.POSITIVE_INFINITY;
    return;
  }
  timerAt = first.at;
  timer = setTimeout(fire, Math.max(0, Math.ceil(first.at - performance.now())));
}

function fire(): void {
  timer = undefined;
  timerAt = Number.POSITIVE_INFINITY;
  firing = true;
  const limit = performance.now() + EARLY_MS;
  // At most CHUNK, and only entries that were due when the pass began: one rescheduled at once
  // by its own `due()` waits for the next pass instead of looping here.
  let budget = Math.min(heap.length, CHUNK);
  try {
    while (budget-- > 0) {
      const first = heap[0];
      if (!first || (ats[0] as number) > limit) break;
      remove(first);
      try {
        first.due();
      } catch (error) {
        // One watcher's failure must not cost the others their tick; it still surfaces.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  } finally {
    firing = false;
    if (heap.length > 0 && (ats[0] as number) <= performance.now() + EARLY_MS) {
      timerAt = Number.NEGATIVE_INFINITY;
      setImmediate(fire);
    } else arm();
  }
}

function remove(entry: Due): void {
  const i = entry.slot;
  const last = heap.pop() as Due;
  entry.slot = -1;
  if (last === entry) return;
  const at = last.at;
  if (i > 0 && at < (ats[(i - 1) >> 1] as number)) up(i, last, at);
  else down(i, last, at);
}

/** Moves `entry` (deadline `at`) from the hole at `i` towards the root, to its place. */
function up(i: number, entry: Due, at: number): void {
  while (i > 0) {
    const p = (i - 1) >> 1;
    if ((ats[p] as number) <= at) break;
    const parent = heap[p] as Due;
    heap[i] = parent;
    ats[i] = ats[p] as number;
    parent.slot = i;
    i = p;
  }
  heap[i] = entry;
  ats[i] = at;
  entry.slot = i;
}

/** Moves `entry` (deadline `at`) from the hole at `i` towards the leaves, to its place. */
function down(i: number, entry: Due, at: number): void {
  const n = heap.length;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && (ats[c + 1] as number) < (ats[c] as number)) c++;
    const childAt = ats[c] as number;
    if (childAt >= at) break;
    const child = heap[c] as Due;
    heap[i] = child;
    ats[i] = childAt;
    child.slot = i;
    i = c;
  }
  heap[i] = entry;
  ats[i] = at;
  entry.slot = i;
}
