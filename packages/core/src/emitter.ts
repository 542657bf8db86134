/**
 * The one event shape of every Specter class: `on(event, fn)` returns a function that unsubscribes,
 * events are typed per class, and a listener that throws is reported without stopping the others.
 */
import { Listeners } from "./listeners.ts";
import { OptionsError } from "./options.ts";

/** Event names mapped to their listener arguments. */
export type EventArgs = Record<string, unknown[]>;

export class Emitter<E extends EventArgs> {
  // Parallel to `#events` (a list the class shares across its instances): an array and no
  // per-instance strings, since a host may hold 100,000 watchers, each with an emitter.
  readonly #events: readonly (keyof E & string)[];
  readonly #sets: Listeners<unknown[], keyof E & string>[];
  readonly #context: string;

  /**
   * @param events every event name, in the order error messages list them
   * @param context the method, for error messages, e.g. `Watcher "disk".on()`
   * @param onError called with what a listener of `event` threw
   */
  constructor(
    events: readonly (keyof E & string)[],
    context: string,
    onError: (error: unknown, event: keyof E & string) => void,
  ) {
    this.#context = context;
    this.#events = events;
    this.#sets = events.map((event) => new Listeners(onError, event));
  }

  /**
   * Calls `fn` on each `event`; returns a function that unsubscribes (calling it twice is harmless).
   * @throws {OptionsError} for an unknown event or a listener that is not a function.
   */
  on<K extends keyof E>(event: K, fn: (...args: E[K]) => unknown): () => void {
    const set = this.#sets[this.#events.indexOf(event as keyof E & string)];
    if (!set) {
      const names = this.#events.map((e) => JSON.stringify(e)).join(", ");
      throw new OptionsError(this.#context, [
        { option: "event", value: event, expected: `one of ${names}` },
      ]);
    }
    if (typeof fn !== "function") {
      throw new OptionsError(this.#context, [
        { option: "listener", value: fn, expected: "a function" },
      ]);
    }
    return set.add(fn as (...args: unknown[]) => unknown);
  }

  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    this.listeners(event).emit(...args);
  }

  /** The listeners of one event, for hot paths and for `Reporter`/`StateCell`. */
  listeners<K extends keyof E>(event: K): Listeners<E[K]> {
    return this.#sets[this.#events.indexOf(event as keyof E & string)] as unknown as Listeners<
      E[K]
    >;
  }
}
