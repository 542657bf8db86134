import { Listeners } from "@specter/core";

/** Event names mapped to the data they carry. */
export type EventMap = Record<string, unknown>;

/** A typed publish/subscribe channel; a throwing handler is reported and the others still run. */
export class EventBus<E extends EventMap = EventMap> {
  // Keyed by PropertyKey, not keyof E, so a bus of specific events is still an EventBus<EventMap>.
  #handlers = new Map<PropertyKey, Listeners<[unknown], PropertyKey>>();
  #any: Listeners<[PropertyKey, unknown], PropertyKey>;

  constructor(private readonly onError: (error: unknown, event: PropertyKey) => void = () => {}) {
    this.#any = new Listeners<[PropertyKey, unknown], PropertyKey>(onError, "*");
  }

  /** Calls `handler(data)` for each `event`; returns a function that unsubscribes. */
  on<K extends keyof E>(event: K, handler: (data: E[K]) => unknown): () => void {
    let set = this.#handlers.get(event);
    if (!set) {
      set = new Listeners(this.onError, event as PropertyKey);
      this.#handlers.set(event, set);
    }
    return set.add(handler as (data: unknown) => unknown);
  }

  /** Calls `handler(event, data)` for every event. */
  onAny(handler: (event: PropertyKey, data: unknown) => unknown): () => void {
    return this.#any.add(handler);
  }

  emit<K extends keyof E>(event: K, data: E[K]): void {
    this.#handlers.get(event)?.emit(data);
    this.#any.emit(event, data);
  }
}

/**
 * Subscribes `handler` to `event` of `bus` until `owner` closes (a service's `listen`); returns a
 * function that ends it earlier, and drops it from the owner.
 */
export function listenTo(
  owner: { addCleanup(fn: () => unknown, label?: string): () => void },
  bus: unknown,
  event: unknown,
  handler: unknown,
): () => void {
  if (!(bus instanceof EventBus)) {
    throw new TypeError("listen(source, event, handler): source must be a Service or an EventBus");
  }
  if (typeof handler !== "function") {
    throw new TypeError(`listen(): the handler of "${String(event)}" must be a function`);
  }
  const off = bus.on(event as PropertyKey, handler as (data: unknown) => unknown);
  const remove = owner.addCleanup(off, `listener of "${String(event)}"`);
  return () => {
    off();
    remove();
  };
}
