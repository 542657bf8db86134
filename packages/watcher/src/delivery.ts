/**
 * Delivery of a watcher's values: `transform`, then `dedupe` against a snapshot of the last value,
 * then the subscribers. Kept apart from the loop because it is the hot path of stream mode
 * (tens of millions of items a second from a function source, see bench/watcher.bench.ts): every
 * field read here is a plain own field, and the clock is read once per batch, not per item.
 */
import type { Listeners } from "@specter/core";
import type { BadItem } from "./protocol.ts";

export interface DeliveryOptions<V> {
  transform: ((value: unknown) => unknown) | undefined;
  dedupe: false | ((previous: unknown, next: unknown) => boolean);
  /** Values come from a worker untransformed, so they are already private copies. */
  isolated: boolean;
  /** The subscribers. */
  values: Listeners<[V, ...unknown[]], unknown>;
  /** The second argument subscribers get (the watcher). */
  owner: unknown;
  /** Told when `transform` or `dedupe` threw (an object, not a closure: one less per watcher). */
  feed: { callbackFailed(phase: "transform", what: "transform" | "dedupe", error: unknown): void };
}

export class Delivery<V> {
  delivered = 0;
  deduped = 0;
  /** The last value delivered to subscribers. */
  last: V | undefined;
  lastValueAt: number | null = null;
  #hasLast = false;
  /** What dedupe compares the next value with: a snapshot, so mutating a delivered object in place cannot hide a change. */
  #compareWith: V | undefined;
  /**
   * Set by each delivery and turned into `lastValueAt` by `stamp()` right after: once per worker
   * batch rather than per item (a clock read per item costs more than the delivery).
   */
  #valueClock = false;
  // Options held as own fields rather than one options object: one load less per item.
  readonly #transform: DeliveryOptions<V>["transform"];
  readonly #dedupe: DeliveryOptions<V>["dedupe"];
  readonly #isolated: boolean;
  readonly #values: Listeners<[V, ...unknown[]], unknown>;
  readonly #owner: unknown;
  readonly #feed: DeliveryOptions<V>["feed"];

  constructor(options: DeliveryOptions<V>) {
    this.#transform = options.transform;
    this.#dedupe = options.dedupe;
    this.#isolated = options.isolated;
    this.#values = options.values;
    this.#owner = options.owner;
    this.#feed = options.feed;
  }

  deliver(raw: unknown): void {
    let value = raw as V;
    const transform = this.#transform;
    const dedupe = this.#dedupe;
    if (transform) {
      try {
        value = transform(raw) as V;
      } catch (error) {
        this.#feed.callbackFailed("transform", "transform", error);
        return;
      }
    }
    if (dedupe && this.#hasLast) {
      let same: boolean;
      try {
        same = dedupe(this.#compareWith, value);
      } catch (error) {
        this.#feed.callbackFailed("transform", "dedupe", error);
        // The value counts as changed: dropping it would compare every later value with the
        // same stale one.
        same = false;
      }
      if (same) {
        this.deduped++;
        return;
      }
    }
    if (dedupe) this.#compareWith = this.#isolated ? value : snapshot(value);
    this.last = value;
    this.#hasLast = true;
    this.delivered++;
    this.#valueClock = true;
    this.#values.emit(value, this.#owner);
  }

  /**
   * Delivers a worker's batch in which some items could not be cloned: those go to `onBad` with
   * the reason, in their place in the order; the rest are delivered. Stops when `run` closes.
   */
  deliverWithBad(
    values: unknown[],
    bad: BadItem[],
    run: { closed: boolean },
    onBad: (reason: string) => void,
  ): void {
    const badAt = new Map(bad.map((b) => [b.index, b.error.message]));
    for (let i = 0; i < values.length && !run.closed; i++) {
      const reason = badAt.get(i);
      if (reason === undefined) this.deliver(values[i]);
      else onBad(reason);
    }
    this.stamp();
  }

  /** Turns "a value was delivered just now" into `lastValueAt`. */
  stamp(): void {
    if (this.#valueClock) {
      this.#valueClock = false;
      this.lastValueAt = Date.now();
    }
  }
}

/** A structured clone of `value` for later comparison; the value itself when it cannot be cloned. */
function snapshot<V>(value: V): V {
  if (value === null || typeof value !== "object") return value;
  try {
    return structuredClone(value);
  } catch {
    return value;
  }
}
