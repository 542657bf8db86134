/**
 * The reader loop: one run's stdout or stderr, read chunk by chunk into the process's `StreamTap`
 * (which outlives the run, so watchers stay attached across restarts). Every piped stream gets
 * one, watched or not: an unread pipe is buffered by Bun without limit.
 */
import type { StreamTap } from "./stream-tap.ts";

export class StreamReader {
  /** Settles when the stream has ended (or failed, or was cancelled) and the tap is flushed. */
  readonly done: Promise<void>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Reading was cancelled on purpose: a read error after that is not news. */
  #cancelled = false;

  /** Starts reading `readable` into `tap`; a read that fails goes to `onError`. */
  constructor(
    readable: ReadableStream<Uint8Array>,
    tap: StreamTap,
    onError: (error: unknown) => void,
  ) {
    const reader = readable.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    this.#reader = reader;
    this.done = (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          tap.push(value);
        }
      } catch (error) {
        if (!this.#cancelled) onError(error);
      } finally {
        // A cancelled reader's partial lines were flushed by whoever cancelled it.
        if (!this.#cancelled) tap.end();
        reader.releaseLock();
      }
    })();
  }

  /**
   * Stops reading at once. The caller flushes the tap itself if it needs the partial lines now:
   * the cancelled read comes back later, when a restart may already be reading into the same tap.
   */
  cancel(): void {
    this.#cancelled = true;
    this.#reader.cancel().catch(() => {});
  }
}
