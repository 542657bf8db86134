/**
 * Pulls items from a stream source into a sink, on whichever thread the source lives. Synchronous
 * iterables are drained in time slices so one endless generator cannot starve the event loop (and,
 * in a shared worker, the other watchers).
 */
import type { StreamLike } from "./types.ts";

export interface PumpSink<T> {
  /** Takes one item; returns `true` when the pump should `flush()` before pushing more. */
  push(item: T): boolean;
  /** Hands over what `push` collected; resolves when more may be pushed (backpressure). */
  flush(): void | Promise<void>;
}

export interface PumpControl {
  /** Checked between items; once true the pump returns the iterator and stops. */
  readonly closed: boolean;
  /** Marks the span of synchronous user code (`true` on entry, `false` on exit), for hang detection. */
  busy(on: boolean): void;
  /**
   * Aborted on stop. A source parked in an await is abandoned at once: an async iterator's
   * `return()` is called without being awaited, a `ReadableStream`'s reader is cancelled.
   */
  readonly signal: AbortSignal;
}

const ignore = () => {};

const SLICE_MS = 4;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs until the source ends (`"ended"`) or `control.closed` (`"closed"`); throws what the source throws. */
export async function pump<T>(
  source: StreamLike<T>,
  sink: PumpSink<T>,
  control: PumpControl,
): Promise<"ended" | "closed"> {
  if (source instanceof ReadableStream) return pumpReadable(source, sink, control);
  if (Symbol.asyncIterator in source) return pumpAsync(source as AsyncIterable<T>, sink, control);
  if (Symbol.iterator in source) return pumpSync(source as Iterable<T>, sink, control);
  throw new TypeError(
    "stream source returned neither an iterable, an async iterable nor a ReadableStream",
  );
}

/** Runs synchronous user code with the busy mark set, clearing it even when the code throws. */
function guarded<R>(control: PumpControl, fn: () => R): R {
  control.busy(true);
  try {
    return fn();
  } finally {
    control.busy(false);
  }
}

async function pumpSync<T>(
  source: Iterable<T>,
  sink: PumpSink<T>,
  control: PumpControl,
): Promise<"ended" | "closed"> {
  const iterator = guarded(control, () => source[Symbol.iterator]());
  try {
    while (!control.closed) {
      const sliceEnd = performance.now() + SLICE_MS;
      let pending: void | Promise<void> | undefined;
      control.busy(true);
      try {
        for (let i = 1; ; i++) {
          const result = iterator.next();
          if (result.done) {
            control.busy(false);
            await sink.flush();
            return "ended";
          }
          if (sink.push(result.value)) {
            pending = sink.flush();
            if (pending) break;
          }
          if ((i & 255) === 0 && (control.closed || performance.now() > sliceEnd)) break;
        }
      } finally {
        control.busy(false);
      }
      await (pending ?? sink.flush());
      await yieldToLoop();
    }
    return "closed";
  } finally {
    iterator.return?.();
  }
}

function pumpAsync<T>(
  source: AsyncIterable<T>,
  sink: PumpSink<T>,
  control: PumpControl,
): Promise<"ended" | "closed"> {
  const iterator = guarded(control, () => source[Symbol.asyncIterator]());
  // return() of an async generator parked in an await only takes effect once that await settles,
  // and is never awaited here: a generator parked forever would hold stop() forever.
  return pumpPulled(
    () => guarded(control, () => iterator.next()),
    () => guarded(control, () => iterator.return?.())?.catch(ignore),
    sink,
    control,
  );
}

/**
 * A `ReadableStream` is read through its reader rather than its async iterator: the iterator's
 * `return()` waits for a pending read, while `reader.cancel()` ends that read at once (and runs the
 * stream's own `cancel`).
 */
function pumpReadable<T>(
  source: ReadableStream<T>,
  sink: PumpSink<T>,
  control: PumpControl,
): Promise<"ended" | "closed"> {
  const reader = source.getReader();
  return pumpPulled(
    () => reader.read(),
    () => guarded(control, () => reader.cancel(control.signal.reason)).catch(ignore),
    sink,
    control,
  );
}

/**
 * The loop of a source read by awaiting `next()`: items go to the sink, a partial batch is
 * flushed once the event loop turns (so a slow source's items are not held back; items that
 * arrive within one turn still travel together). `release` lets go of a source that did not end
 * by itself, at once on abort and otherwise when the loop ends; it is never awaited.
 */
async function pumpPulled<T>(
  next: () => Promise<IteratorResult<T>>,
  release: () => unknown,
  sink: PumpSink<T>,
  control: PumpControl,
): Promise<"ended" | "closed"> {
  let scheduled = false;
  const flushLater = () => {
    scheduled = false;
    sink.flush();
  };
  let finished = false;
  const abandon = () => {
    if (finished) return;
    finished = true;
    release();
  };
  control.signal.addEventListener("abort", abandon);
  try {
    while (!control.closed) {
      const result = await next();
      if (control.closed) break;
      if (result.done) {
        finished = true;
        await sink.flush();
        return "ended";
      }
      if (sink.push(result.value)) {
        await sink.flush();
      } else if (!scheduled) {
        scheduled = true;
        setImmediate(flushLater);
      }
    }
    return "closed";
  } finally {
    control.signal.removeEventListener("abort", abandon);
    abandon();
  }
}

/**
 * Resolves when `done` settles or at the next turn of the event loop, whichever comes first: a
 * source that reacts to its abort (rejects, returns) has finished its cleanup by then; one parked
 * for good is not waited for.
 */
export function settledOrNextTurn(done: Promise<unknown>): Promise<void> {
  return new Promise<void>((resolve) => {
    const immediate = setImmediate(resolve);
    const settled = () => {
      clearImmediate(immediate);
      resolve();
    };
    done.then(settled, settled);
  });
}
