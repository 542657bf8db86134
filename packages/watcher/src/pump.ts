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
}

const SLICE_MS = 4;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs until the source ends (`"ended"`) or `control.closed` (`"closed"`); throws what the source throws. */
export async function pump<T>(
  source: StreamLike<T>,
  sink: PumpSink<T>,
  control: PumpControl,
): Promise<"ended" | "closed"> {
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

async function pumpAsync<T>(
  source: AsyncIterable<T>,
  sink: PumpSink<T>,
  control: PumpControl,
): Promise<"ended" | "closed"> {
  const iterator = guarded(control, () => source[Symbol.asyncIterator]());
  // A partial batch is flushed once the event loop turns, so a slow source's items are not held
  // back; items that arrive within one turn still travel together.
  let scheduled = false;
  const flushLater = () => {
    scheduled = false;
    sink.flush();
  };
  let finished = false;
  try {
    while (!control.closed) {
      const result = await guarded(control, () => iterator.next());
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
    // return() of an async generator parked in an await never settles; do not wait on it.
    if (!finished) iterator.return?.()?.catch(() => {});
  }
}
