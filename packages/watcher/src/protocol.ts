/** Messages between the main thread and a source worker. Internal. */
import type { WatcherMode } from "./types.ts";

export interface SourceSpec {
  mode: WatcherMode;
  url: string;
  export: string;
  args: unknown[];
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string | undefined;
}

/** An item of a batch that could not be cloned: it is reported and skipped. */
export interface BadItem {
  index: number;
  error: SerializedError;
}

export type ToWorker =
  | { t: "init"; busy: SharedArrayBuffer }
  | { t: "open"; id: number; spec: SourceSpec }
  | { t: "call"; id: number; call: number }
  | { t: "cancel"; id: number; call: number }
  | { t: "stream"; id: number }
  | { t: "ack"; id: number }
  | { t: "close"; id: number }
  /** Does nothing but move the worker's heartbeat (see BUSY_SEEN): asks whether its loop runs. */
  | { t: "ping" }
  | { t: "batch"; messages: ToWorker[] };

export type FromWorker =
  | { t: "loaded"; id: number }
  | { t: "load-error"; id: number; error: SerializedError }
  | { t: "value"; id: number; call: number; value: unknown }
  | { t: "fail"; id: number; call: number; error: SerializedError; clone: boolean }
  | ({ t: "items"; id: number; bad?: BadItem[] } & EncodedItems)
  | { t: "end"; id: number; error?: SerializedError }
  | { t: "closed"; id: number }
  | { t: "batch"; messages: FromWorker[] };

/**
 * A Worker's OS thread id, posted once by worker-entry.ts before any source runs (a subprocess
 * host has no use for it). Only HostWorker reads it; sessions never see it.
 */
export interface ThreadMessage {
  t: "thread";
  tid: number;
}

/**
 * Coalesces the messages posted during one turn of the event loop into one postMessage: with
 * thousands of pollers whose ticks fall together it cut the cost of a worker poll from ~35 to
 * ~30 µs in bench/watcher.bench.ts. Order is kept.
 * `post` is the real postMessage; `rescue` replaces a message that cannot be cloned.
 */
export class Outbox<M extends { t: string }> {
  #queue: M[] = [];
  constructor(
    private readonly post: (message: M | { t: "batch"; messages: M[] }) => void,
    private readonly rescue: (message: M, error: unknown) => M | undefined = () => undefined,
  ) {}

  push(message: M): void {
    if (this.#queue.push(message) === 1) setImmediate(this.flush);
  }

  readonly flush = (): void => {
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    try {
      this.post(queue.length === 1 ? (queue[0] as M) : { t: "batch", messages: queue });
    } catch {
      // Something in the batch cannot be cloned: send one by one so only that message is replaced.
      for (const message of queue) {
        try {
          this.post(message);
        } catch (error) {
          const replacement = this.rescue(message, error);
          if (replacement) this.post(replacement);
        }
      }
    }
  };

  clear(): void {
    this.#queue = [];
  }
}

/** Slots of the shared `busy` array: which session is running user code right now (0 = none). */
export const BUSY_CALLING = 0;
export const BUSY_LOADING = 1;
/**
 * The worker's heartbeat: how many postMessage events it has taken from the main thread, counted
 * as each is taken (before it is handled). A message the main thread posted and this count has
 * not reached means the worker's event loop has not turned since: it is blocked, whatever the
 * calling and loading slots say. Costs one `Atomics.add` per message (a few ns against ~30 µs per
 * worker poll). Only a Worker counts; a subprocess host never reads it.
 */
export const BUSY_SEEN = 2;
export const BUSY_SLOTS = 3;

/** Stream items per message, and batches a worker may have in flight before it waits for an ack. */
export const BATCH_SIZE = 4096;
export const BATCH_WINDOW = 4;

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error)
    return { name: error.name, message: error.message, stack: error.stack };
  return { name: "Error", message: typeof error === "string" ? error : Bun.inspect(error) };
}

/** A value or items that cannot be cloned become a clone failure, or a batch without them. */
export function rescueMessage(message: FromWorker, error: unknown): FromWorker | undefined {
  if (message.t === "value")
    return {
      t: "fail",
      id: message.id,
      call: message.call,
      error: serializeError(error),
      clone: true,
    };
  if (message.t === "items") {
    const { items, bad } = splitUncloneable(message.items);
    // In a JSON batch `items` holds only the snapshots JSON cannot carry, placed at `at`.
    const at = message.at;
    if (at) for (const b of bad) b.index = at[b.index] as number;
    return { ...message, items, bad };
  }
  return undefined;
}

/** Replaces items that cannot be cloned by `undefined` and lists them, so the rest still arrive. */
export function splitUncloneable(items: unknown[]): { items: unknown[]; bad: BadItem[] } {
  const bad: BadItem[] = [];
  const kept = items.map((item, index) => {
    try {
      structuredClone(item);
      return item;
    } catch (error) {
      bad.push({ index, error: serializeError(error) });
      return undefined;
    }
  });
  return { items: kept, bad };
}

export function deserializeError(data: SerializedError): Error {
  const error = new Error(data.message);
  error.name = data.name;
  if (data.stack) error.stack = data.stack;
  return error;
}

/**
 * A batch of stream items as posted: `items` as they are, or with `json` the batch as JSON text in
 * which the items at indexes `at` are placeholders, their snapshots travelling in `items`.
 */
export interface EncodedItems {
  items: unknown[];
  json?: string;
  at?: number[];
}

/**
 * Stream items collected in the worker, each snapshotted when pushed (a source may reuse and mutate
 * one object per item), so the batch is sent as it was at each yield.
 *
 * A batch that starts with an object is written as JSON text: an item that JSON carries exactly
 * (plain objects and arrays of strings, finite numbers, booleans and null) is serialized once, by
 * `JSON.stringify` at push, and parsed once on the main thread, instead of a `structuredClone` at
 * push and a second clone by postMessage. Measured for `{ i }` items on this 2-core machine, per
 * item in the worker: postMessage of an array of objects 136–169 ns, `structuredClone` of it
 * 136–171 ns, `bun:jsc` `serialize()` 194–217 ns (per item: 513–571 ns), a spread copy 28–31 ns,
 * `JSON.stringify` 38 ns; end to end a bare worker posting JSON text reached 9–11 M items/s
 * against 5–6 M/s for the same objects posted as an array. A Watcher stream of `{ i }` went from
 * 2.0 to 6.5 M/s (0.36× to 1.2× a bare Worker posting them in batches, bench/watcher.bench.ts);
 * number streams stayed at 19 M/s. Any other item keeps its place as a structured snapshot. A batch
 * that starts with a primitive (numbers, log lines) stays an array: postMessage copies those
 * fastest. (A getter is read twice, by the check and by `JSON.stringify`.)
 */
export class ItemBatch {
  length = 0;
  /** The items; in JSON mode only the snapshots of items JSON cannot carry. */
  #values: unknown[] = [];
  #parts: string[] | undefined;
  #at: number[] = [];

  push(item: unknown): void {
    const index = this.length++;
    if (index === 0 && item !== null && typeof item === "object" && isJsonExact(item, 0))
      this.#parts = [];
    const parts = this.#parts;
    if (parts === undefined) {
      this.#values.push(item !== null && typeof item === "object" ? snapshot(item) : item);
    } else if (isJsonExact(item, 0)) {
      parts.push(JSON.stringify(item));
    } else {
      parts.push("null");
      this.#at.push(index);
      this.#values.push(item !== null && typeof item === "object" ? snapshot(item) : item);
    }
  }

  /** The batch as a message body; the batch starts over empty. */
  take(): EncodedItems {
    const items = this.#values;
    const parts = this.#parts;
    this.#values = [];
    this.#parts = undefined;
    this.length = 0;
    if (parts === undefined) return { items };
    const at = this.#at;
    this.#at = [];
    return { items, json: `[${parts.join(",")}]`, at };
  }
}

/** The items of a batch, in order (on the main thread). */
export function decodeItems(batch: EncodedItems): unknown[] {
  if (batch.json === undefined) return batch.items;
  const values = JSON.parse(batch.json) as unknown[];
  const { items, at = [] } = batch;
  for (let k = 0; k < at.length; k++) values[at[k] as number] = items[k];
  return values;
}

const MAX_DEPTH = 16;

/** Whether `JSON.parse(JSON.stringify(value))` is exactly what a structured clone would give. */
function isJsonExact(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      // NaN and the infinities become null, -0 becomes 0.
      return Number.isFinite(value) && (value !== 0 || 1 / value > 0);
    case "object":
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth === MAX_DEPTH) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto === Array.prototype) {
    // A hole reads as undefined: rejected, as JSON would make it null.
    const array = value as unknown[];
    for (let i = 0; i < array.length; i++) if (!isJsonExact(array[i], depth + 1)) return false;
    return true;
  }
  if (proto !== Object.prototype && proto !== null) return false;
  const record = value as Record<string, unknown>;
  for (const key in record) if (!isJsonExact(record[key], depth + 1)) return false;
  return true;
}

/**
 * A copy of `item` as it is now. A plain object or array whose values are all primitives is
 * copied shallowly (28–31 ns for `{ i }`), which is a full snapshot; anything else is
 * structured-cloned, or kept when it cannot be cloned (its batch's post then reports it).
 */
function snapshot(item: object): unknown {
  const proto = Object.getPrototypeOf(item);
  if (proto === Object.prototype || proto === null) {
    const copy = { ...item } as Record<string, unknown>;
    for (const key in copy) if (!isPrimitive(copy[key])) return cloneOrKeep(item);
    return copy;
  }
  if (proto === Array.prototype) {
    const copy = (item as unknown[]).slice();
    for (let i = 0; i < copy.length; i++) if (!isPrimitive(copy[i])) return cloneOrKeep(item);
    return copy;
  }
  return cloneOrKeep(item);
}

/** Values a structured clone copies as they are (symbols cannot be cloned at all). */
function isPrimitive(value: unknown): boolean {
  const type = typeof value;
  return value === null || (type !== "object" && type !== "function" && type !== "symbol");
}

function cloneOrKeep(item: unknown): unknown {
  try {
    return structuredClone(item);
  } catch {
    return item;
  }
}
