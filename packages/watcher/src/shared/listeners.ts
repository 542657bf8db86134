/**
 * A set of callbacks where one that throws (or rejects) cannot stop the others: its error goes to
 * `onError`. Insertion-ordered; removing during an emit is safe.
 */
export class Listeners<Args extends unknown[]> {
  #set = new Set<(...args: Args) => unknown>();

  constructor(private readonly onError: (error: unknown) => void) {}

  get size(): number {
    return this.#set.size;
  }

  /** Adds `fn`; returns a function that removes it (calling it twice is harmless). */
  add(fn: (...args: Args) => unknown): () => void {
    // Wrap so the same function subscribed twice gets two independent subscriptions.
    const entry = (...args: Args) => fn(...args);
    this.#set.add(entry);
    return () => {
      this.#set.delete(entry);
    };
  }

  emit(...args: Args): void {
    for (const fn of this.#set) {
      try {
        const result = fn(...args);
        if (result instanceof Promise) result.catch(this.onError);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  clear(): void {
    this.#set.clear();
  }
}
