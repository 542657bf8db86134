/**
 * Error and state bookkeeping shared by Watcher, ManagedProcess and Service: remember the last
 * error, count what was reported and what callbacks threw, hand each error to the "error"
 * listeners, and write it to `console.error` when nobody listens (an error must never vanish).
 */
import type { SpecterError } from "./errors.ts";
import type { Listeners } from "./listeners.ts";

/** The last error, as `health()` shows it. */
export interface LastError<Phase extends string = string> {
  message: string;
  phase: Phase;
  /** Epoch milliseconds. */
  at: number;
}

export class Reporter<E extends SpecterError, Rest extends unknown[] = []> {
  /** Errors reported so far. */
  reported = 0;
  /** Errors thrown (or rejected) by user callbacks: subscribers, listeners, transforms. */
  callbackErrors = 0;
  last: LastError<E["phase"]> | null = null;
  readonly #listeners: Listeners<[E, ...Rest]>;

  constructor(listeners: Listeners<[E, ...Rest]>) {
    this.#listeners = listeners;
  }

  /** Records `error` and delivers it to the listeners, or to `console.error` without any. */
  report(error: E, ...rest: Rest): void {
    this.reported++;
    this.last = { message: error.message, phase: error.phase, at: Date.now() };
    if (this.#listeners.size === 0) console.error(`[specter] ${error.message}`);
    else this.#listeners.emit(error, ...rest);
  }

  /** An error handler for a set of user callbacks: counts it and reports `wrap(error)`. */
  callbackFailed(wrap: (error: unknown) => E, ...rest: Rest): (error: unknown) => void {
    return (error) => {
      this.callbackErrors++;
      this.report(wrap(error), ...rest);
    };
  }
}

/** The current state and its "state" listeners: `set` emits `(state, previous, ...rest)` on change. */
export class StateCell<S extends string, Rest extends unknown[] = []> {
  #state: S;
  readonly #listeners: Listeners<[S, S, ...Rest]>;

  constructor(initial: S, listeners: Listeners<[S, S, ...Rest]>) {
    this.#state = initial;
    this.#listeners = listeners;
  }

  get value(): S {
    return this.#state;
  }

  /** Changes the state; returns whether it changed (listeners were called). */
  set(state: S, ...rest: Rest): boolean {
    const previous = this.#state;
    if (previous === state) return false;
    this.#state = state;
    this.#listeners.emit(state, previous, ...rest);
    return true;
  }

  /** Changes the state without telling anyone yet; returns the previous one (for deferred emits). */
  setQuietly(state: S): S {
    const previous = this.#state;
    this.#state = state;
    return previous;
  }
}
