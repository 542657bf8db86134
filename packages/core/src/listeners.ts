/**
 * A set of callbacks where one that throws (or rejects) cannot stop the others: its error goes to
 * `onError`. Insertion-ordered; adding or removing during an emit affects the next emit.
 *
 * Kept as a copy-on-write array rather than a Set: `emit` is on the hot path of stream delivery
 * (millions of calls a second) and iterating a plain array is the fastest loop JSC has.
 */
export class Listeners<Args extends unknown[]> {
  /** One object per subscription, so the same function subscribed twice is two subscriptions. */
  #entries: { fn: (...args: Args) => unknown }[] = [];

  constructor(private readonly onError: (error: unknown) => void) {}

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
        if (result instanceof Promise) result.catch(this.onError);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  clear(): void {
    this.#entries = [];
  }
}
