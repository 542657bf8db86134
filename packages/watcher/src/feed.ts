/**
 * What a watcher tells its listeners: the events of `watcher.on()` ("value", "error", "state") in
 * one `Emitter`, the error bookkeeping of `health()` (last error, callbacks that threw,
 * `console.error` when nobody listens) and the state. Every listener gets the watcher itself as
 * its last argument.
 */
import { Emitter, messageOf, Reporter, StateCell } from "@specter/core";
import { WatcherError } from "./errors.ts";
import type { ErrorPhase, WatcherState } from "./health.ts";

/** The events of a watcher `W` whose values are `V`, and their listener arguments. */
export type FeedEvents<V, W> = {
  value: [value: V, watcher: W];
  error: [error: WatcherError, watcher: W];
  state: [state: WatcherState, previous: WatcherState, watcher: W];
};

const EVENTS = ["value", "error", "state"] as const;

export class WatcherFeed<V, W> {
  readonly events: Emitter<FeedEvents<V, W>>;
  readonly reporter: Reporter<WatcherError, [W]>;
  readonly state: StateCell<WatcherState, [W]>;

  constructor(
    readonly name: string,
    readonly watcher: W,
  ) {
    this.events = new Emitter<FeedEvents<V, W>>(
      EVENTS,
      `Watcher "${name}".on()`,
      (error, event) => {
        // An error listener that throws cannot be reported to itself.
        if (event === "error")
          console.error(`[specter] onError listener of watcher "${name}" threw:`, error);
        else this.callbackFailed("subscriber", "subscriber", error);
      },
    );
    this.reporter = new Reporter(this.events.listeners("error"));
    this.state = new StateCell<WatcherState, [W]>("idle", this.events.listeners("state"));
  }

  /** Records `error` and hands it to the "error" listeners (or `console.error` without any). */
  report(error: WatcherError): void {
    this.reporter.report(error, this.watcher);
  }

  /** A subscriber, state listener, `transform` or `dedupe` threw: isolated, counted, reported. */
  callbackFailed(phase: ErrorPhase, what: string, error: unknown): void {
    this.reporter.callbackErrors++;
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

  setState(state: WatcherState): void {
    this.state.set(state, this.watcher);
  }
}
