/**
 * What a watcher tells its listeners: the events of `watcher.on()` ("value", "error", "state"),
 * the error bookkeeping of `health()` (last error, callbacks that threw, `console.error` when
 * nobody listens) and the state. Every listener gets the watcher itself as its last argument.
 *
 * One object rather than core's Emitter + Reporter + StateCell: a host may hold 100,000 watchers,
 * and those were seven objects and a closure each (about 450 bytes). The "error" and "state" sets
 * are made on the first listener, as most watchers only have subscribers; a listener that throws
 * reaches a shared handler through the set's tag (this feed), not a closure per watcher.
 */
import { type LastError, Listeners, messageOf, OptionsError } from "@specter/core";
import { WatcherError } from "./errors.ts";
import type { ErrorPhase, WatcherState } from "./health.ts";

/** The events of a watcher `W` whose values are `V`, and their listener arguments. */
export type FeedEvents<V, W> = {
  value: [value: V, watcher: W];
  error: [error: WatcherError, watcher: W];
  state: [state: WatcherState, previous: WatcherState, watcher: W];
};

// biome-ignore lint/suspicious/noExplicitAny: the handlers serve feeds of every value type
type AnyFeed = WatcherFeed<any, any>;

/** A subscriber or state listener threw: isolated, counted, reported. */
function listenerFailed(error: unknown, feed: AnyFeed): void {
  feed.callbackFailed("subscriber", "subscriber", error);
}

/** An error listener that throws cannot be reported to itself. */
function errorListenerFailed(error: unknown, feed: AnyFeed): void {
  console.error(`[specter] onError listener of watcher "${feed.name}" threw:`, error);
}

export class WatcherFeed<V, W> {
  /** The subscribers ("value"); made at once, as delivery holds them. */
  readonly values: Listeners<[V, W], AnyFeed>;
  #errors: Listeners<[WatcherError, W], AnyFeed> | undefined;
  #states: Listeners<[WatcherState, WatcherState, W], AnyFeed> | undefined;
  state: WatcherState = "idle";
  /** Errors thrown (or rejected) by user callbacks: subscribers, listeners, transforms. */
  callbackErrors = 0;
  last: LastError<ErrorPhase> | null = null;

  constructor(
    readonly name: string,
    readonly watcher: W,
  ) {
    this.values = new Listeners<[V, W], AnyFeed>(listenerFailed, this);
  }

  /**
   * Calls `fn` on each `event`; returns a function that unsubscribes.
   * @throws {OptionsError} for an unknown event or a listener that is not a function.
   */
  on<E extends keyof FeedEvents<V, W>>(
    event: E,
    fn: (...args: FeedEvents<V, W>[E]) => unknown,
  ): () => void {
    let set: unknown;
    if (event === "value") set = this.values;
    else if (event === "error") {
      this.#errors ??= new Listeners<[WatcherError, W], AnyFeed>(errorListenerFailed, this);
      set = this.#errors;
    } else if (event === "state") {
      this.#states ??= new Listeners<[WatcherState, WatcherState, W], AnyFeed>(
        listenerFailed,
        this,
      );
      set = this.#states;
    }
    const context = `Watcher "${this.name}".on()`;
    if (!set) {
      throw new OptionsError(context, [
        { option: "event", value: event, expected: 'one of "value", "error", "state"' },
      ]);
    }
    if (typeof fn !== "function") {
      throw new OptionsError(context, [{ option: "listener", value: fn, expected: "a function" }]);
    }
    return (set as Listeners<unknown[], AnyFeed>).add(fn as (...args: unknown[]) => unknown);
  }

  /** Records `error` and hands it to the "error" listeners (or `console.error` without any). */
  report(error: WatcherError): void {
    this.last = { message: error.message, phase: error.phase, at: Date.now() };
    const errors = this.#errors;
    if (!errors || errors.size === 0) console.error(`[specter] ${error.message}`);
    else errors.emit(error, this.watcher);
  }

  /** A subscriber, state listener, `transform` or `dedupe` threw: isolated, counted, reported. */
  callbackFailed(phase: ErrorPhase, what: string, error: unknown): void {
    this.callbackErrors++;
    this.report(
      new WatcherError(this.name, phase, `${what} threw: ${messageOf(error)}`, { cause: error }),
    );
  }

  /** A stream item that could not be cloned out of the worker: skipped, the rest delivered. */
  badItem(reason: string): void {
    this.report(
      new WatcherError(
        this.name,
        "clone",
        `a stream item cannot leave the worker and was skipped: ${reason}`,
      ),
    );
  }

  /** Changes the state and tells the "state" listeners, when it changed. */
  setState(state: WatcherState): void {
    const previous = this.state;
    if (previous === state) return;
    this.state = state;
    this.#states?.emit(state, previous, this.watcher);
  }
}
