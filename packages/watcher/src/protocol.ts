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
  | { t: "batch"; messages: ToWorker[] };

export type FromWorker =
  | { t: "loaded"; id: number }
  | { t: "load-error"; id: number; error: SerializedError }
  | { t: "value"; id: number; call: number; value: unknown }
  | { t: "fail"; id: number; call: number; error: SerializedError; clone: boolean }
  | { t: "items"; id: number; items: unknown[]; bad?: BadItem[] }
  | { t: "end"; id: number; error?: SerializedError }
  | { t: "closed"; id: number }
  | { t: "batch"; messages: FromWorker[] };

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

/** Stream items per message, and batches a worker may have in flight before it waits for an ack. */
export const BATCH_SIZE = 4096;
export const BATCH_WINDOW = 4;

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error)
    return { name: error.name, message: error.message, stack: error.stack };
  return { name: "Error", message: typeof error === "string" ? error : Bun.inspect(error) };
}

export function deserializeError(data: SerializedError): Error {
  const error = new Error(data.message);
  error.name = data.name;
  if (data.stack) error.stack = data.stack;
  return error;
}
