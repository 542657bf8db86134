/**
 * A set of callbacks where one that throws (or rejects) cannot stop the others: its error goes to
 * `onError`. Insertion-ordered; adding or removing during an emit affects the next emit.
 *
 * Kept as a copy-on-write array rather than a Set: `emit` is on the hot path of stream delivery
 * (millions of calls a second) and iterating a plain array is the fastest loop JSC has.
 */
/** The entries of every set that has none: shared, never mutated (adds copy). */
const NONE: readonly never[] = Object.freeze([]);

export class Listeners<Args extends unknown[], Tag = undefined> {
  /** One object per subscription, so the same function subscribed twice is two subscriptions. */
  #entries: readonly { fn: (...args: Args) => unknown }[] = NONE;
  readonly #onError: (error: unknown, tag: Tag) => void;
  readonly #tag: Tag;

  /**
   * @param onError gets what a listener threw (or rejected with) and `tag`
   * @param tag passed to `onError`, e.g. the event name: one handler serves many sets without a
   *   closure per set (a host may hold 100,000 watchers, each with a few sets)
   */
  constructor(onError: (error: unknown, tag: Tag) => void, tag?: Tag) {
    this.#onError = onError;
    this.#tag = tag as Tag;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Adds `fn`; returns a function that removes it (calling it twice is harmless). */
  add(fn: (...args: Args) => unknown): () => void {
    const entry = { fn };
    this.#entries = [...this.#entries, entry];
    return () => {
      this.#entries = this.#entries.filter((e) => e !== entry);
    };
  }

  emit(...args: Args): void {
    const entries = this.#entries;
    for (let i = 0; i < entries.length; i++) {
      try {
        const result = (entries[i] as { fn: (...args: Args) => unknown }).fn(...args);
        if (result instanceof Promise) result.catch((error) => this.#onError(error, this.#tag));
      } catch (error) {
        this.#onError(error, this.#tag);
      }
    }
  }

  clear(): void {
    this.#entries = NONE;
  }
}
