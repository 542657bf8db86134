/**
 * A service's data: a plain object that `setData` replaces by a shallow merge, and listeners that
 * get `(data, previous)` after each change. Each change is a new object, so a listener may keep
 * `previous` and compare without copying.
 */
import { type CleanupOwner, isCleanupOwner, type Listeners } from "@specter/core";
import type { Feed } from "./feed.ts";

export interface OnDataOptions {
  /** Also call the listener now, with `(data, data)`. */
  immediate?: boolean;
  /** Ends the subscription when it closes: a Service, a core `Scope`, anything with `addCleanup`. */
  owner?: CleanupOwner;
}

export class DataStore<D extends object> {
  #value: Readonly<D>;
  /** The service's "data" listeners: what `on("data")` and `onData` add. */
  readonly #listeners: Listeners<[Readonly<D>, Readonly<D>]>;
  readonly #feed: Feed<D>;

  constructor(initial: D, feed: Feed<D>) {
    this.#value = initial;
    this.#feed = feed;
    this.#listeners = feed.emitter.listeners("data");
  }

  get value(): Readonly<D> {
    return this.#value;
  }

  set(partial: Partial<D>): void {
    const previous = this.#value;
    this.#value = { ...previous, ...partial };
    this.#listeners.emit(this.#value, previous);
    // Only the keys whose value changed go on the wire (/events): a setData of equal values is
    // not news to a dashboard.
    let changed: Record<string, unknown> | undefined;
    for (const key of Object.keys(partial)) {
      const value = (partial as Record<string, unknown>)[key];
      if (Object.is(value, (previous as Record<string, unknown>)[key])) continue;
      changed ??= {};
      // Defined, not assigned: a key such as "__proto__" is data here, as in the merged value.
      Object.defineProperty(changed, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    if (changed) this.#feed.dataChanged(changed);
  }

  /** Adds `fn`; returns a function that removes it, from the owner as well. */
  subscribe(
    fn: (data: Readonly<D>, previous: Readonly<D>) => unknown,
    options: OnDataOptions,
    label: string,
  ): () => void {
    if (typeof fn !== "function") {
      throw new TypeError(`onData(): the listener must be a function, got ${typeof fn}`);
    }
    const { owner, immediate } = options ?? {};
    if (owner !== undefined && !isCleanupOwner(owner)) {
      throw new TypeError(
        "onData(): options.owner must have addCleanup(fn), like a Service or a Scope",
      );
    }
    const remove = this.#listeners.add(fn);
    const removeCleanup = owner?.addCleanup(remove, label);
    if (immediate) {
      try {
        const result = fn(this.#value, this.#value);
        if (result instanceof Promise) result.catch((error) => this.#failed(error));
      } catch (error) {
        this.#failed(error);
      }
    }
    return () => {
      remove();
      if (typeof removeCleanup === "function") removeCleanup();
    };
  }

  #failed(error: unknown): void {
    this.#feed.listenerFailed("data", error);
  }
}
