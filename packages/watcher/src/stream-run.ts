/** A stream pumped inside a source host, batched for the main side. Internal. */
import type { Cleanups } from "./cleanups.ts";
import { BATCH_SIZE, BATCH_WINDOW, type FromWorker, ItemBatch } from "./protocol.ts";
import type { PumpSink } from "./pump.ts";
import type { SourceCleanup } from "./types.ts";

/** Batches items for the main side; at most BATCH_WINDOW batches unacknowledged. */
export class StreamRun implements PumpSink<unknown> {
  closed = false;
  readonly controller = new AbortController();
  done: Promise<void> = Promise.resolve();
  #batch = new ItemBatch();
  #credits = BATCH_WINDOW;
  #waiter: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(
    readonly id: number,
    private readonly send: (message: FromWorker) => void,
    /** What the stream registered with `onClose`: run when it ends or is closed. */
    readonly cleanups: Cleanups,
  ) {}

  readonly onClose = (cleanup: SourceCleanup) => this.cleanups.add(cleanup);

  push(item: unknown): boolean {
    this.#batch.push(item);
    return this.#batch.length >= BATCH_SIZE;
  }

  flush(): void | Promise<void> {
    if (this.closed || this.#batch.length === 0) return;
    if (this.#credits === 0) {
      if (!this.#waiter) {
        const { promise, resolve } = Promise.withResolvers<void>();
        this.#waiter = { promise, resolve };
      }
      return this.#waiter.promise;
    }
    this.#send();
  }

  ack(): void {
    this.#credits++;
    const waiter = this.#waiter;
    if (!waiter) return;
    this.#waiter = undefined;
    if (!this.closed) this.#send();
    waiter.resolve();
  }

  /** Sends what is left regardless of credits: the stream is over. */
  drain(): void {
    if (!this.closed && this.#batch.length > 0) this.#send();
  }

  close(): void {
    this.closed = true;
    this.controller.abort(new Error("watcher stopped"));
    this.#waiter?.resolve();
  }

  #send(): void {
    this.#credits--;
    this.send({ t: "items", id: this.id, ...this.#batch.take() });
  }
}
