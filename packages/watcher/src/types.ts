import type { Duration } from "@specter/core";
import type { WorkerPool } from "./pool.ts";
import type { Watcher } from "./watcher.ts";

export type { ErrorPhase, Isolation, WatcherHealth, WatcherMode, WatcherState } from "./health.ts";

/**
 * What `onClose` takes: a function, something disposable (`await using`-style, such as a
 * `FileHandle`; with the `fd` it closes, a killed Worker's is closed from the main thread), or a
 * subprocess (`Bun.spawn`'s: anything with `pid` and `kill()`).
 */
export type SourceCleanup =
  | (() => unknown)
  | AsyncDisposable
  | Disposable
  | ((AsyncDisposable | Disposable) & { readonly fd: number })
  | { readonly pid: number; kill(): void };

/** What a poll function or stream factory is given. */
export interface SourceContext {
  /** Aborted when the poll times out or the watcher stops: pass it to `fetch`, timers, etc. */
  signal: AbortSignal;
  /**
   * Registers a cleanup for a resource the source holds (a file, a socket, a child process). A
   * stream's cleanups run when that stream ends or the watcher stops; a poll's run when the
   * watcher stops (or fails for good), not between polls. Last registered first, each awaited;
   * `stop()` waits for them up to `stopTimeout`. Returns a function that unregisters it. In a
   * Worker that is killed (a hung source) no code can run: its registered subprocesses are then
   * killed, and its registered fds (disposables with `fd`) closed, from the main thread; with
   * `isolation: "process"` the OS reclaims everything.
   * A watcher always passes it; it is optional only so that code calling a source directly (a
   * test) may pass `{ signal }` alone: call it as `context.onClose?.(…)`.
   */
  onClose?(cleanup: SourceCleanup): () => void;
}

/** A poll function: returns (or resolves to) the current value. */
export type PollFunction<T> = (context: SourceContext) => T | Promise<T>;

/** What a stream factory may return. */
export type StreamLike<T> = Iterable<T> | AsyncIterable<T> | ReadableStream<T>;

/** A stream factory: returns an iterable, an async iterable or a `ReadableStream` (or a promise of one). */
export type StreamFunction<T> = (context: SourceContext) => StreamLike<T> | Promise<StreamLike<T>>;

/**
 * A source that runs in a Bun Worker: the module is imported there and its export is called.
 * Values come back by structured clone, so they must be plain data.
 */
export interface ModuleSource {
  /** `new URL("./sensor.ts", import.meta.url)`, a `file:` URL, or an absolute path. */
  module: URL | string;
  /** Export to call; defaults to `"default"`. */
  export?: string;
  /** Structured-clonable arguments, passed before the `SourceContext`. */
  args?: unknown[];
}

interface CommonOptions<T, V> {
  /** Retry after a failure with exponential backoff (default `true`); `false` ends the watcher. */
  retry?: boolean;
  /** First retry delay (default `"1s"`, at least `"10ms"`). */
  initialBackoff?: Duration;
  /** Largest retry delay (default `"30s"`, at least `"10ms"`). */
  maxBackoff?: Duration;
  /**
   * Randomise retry delays: `true` for full jitter, or the fraction (0 to 1) of each delay that is
   * random. Default off.
   */
  jitter?: boolean | number;
  /**
   * Only notify when the value changes. `true` compares structurally (`Bun.deepEquals`), or pass
   * your own `(previous, next) => boolean` that says whether they are equal. Default off.
   */
  dedupe?: boolean | ((previous: V, next: V) => boolean);
  /** Maps each value before dedupe and delivery. Runs on the main thread. */
  transform?: (value: T) => V;
  /** How long `stop()` waits for the loop to finish before killing it (default `"5s"`). */
  stopTimeout?: Duration;
  /**
   * For module sources: `"shared"` (default) runs the source in a small pool of workers shared
   * with other watchers; `"dedicated"` gives it a worker of its own.
   */
  worker?: "shared" | "dedicated";
  /**
   * For module sources: `"worker"` (default) runs the source in a Worker (see `worker`);
   * `"process"` runs it in a Bun subprocess of its own, in its own process group, killed as a
   * group when it hangs or the watcher stops, so every file, socket and child it held is released
   * by the OS. Costs a process per watcher (see the README).
   */
  isolation?: "worker" | "process";
  /** For module sources: the pool to share (default: `WorkerPool.default`). */
  pool?: WorkerPool;
}

export interface PollOptions<T, V = T> extends CommonOptions<T, V> {
  /** The poll function, or a module source whose export is the poll function. */
  poll: PollFunction<T> | ModuleSource;
  stream?: never;
  /** Time between polls (fixed rate); required. */
  interval: Duration;
  /** A poll that takes longer fails (and, in a worker, is killed if it is stuck). Default none. */
  timeout?: Duration;
}

export interface StreamOptions<T, V = T> extends CommonOptions<T, V> {
  /** The stream factory, or a module source whose export is the stream factory. */
  stream: StreamFunction<T> | ModuleSource;
  poll?: never;
  interval?: never;
  timeout?: never;
}

export type WatcherOptions<T, V = T> = PollOptions<T, V> | StreamOptions<T, V>;

export type Subscriber<V> = (value: V, watcher: Watcher<unknown, V>) => unknown;
