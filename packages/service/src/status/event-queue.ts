/**
 * The queue of one `/events` client: the frames it has not been sent yet, bounded both by count
 * and by bytes. A client that reads slower than events come (or never) loses the oldest frames,
 * and the count of what it lost is handed out once, to be told in a "dropped" event. Without the
 * byte bound, one client that never read and a watcher of 1 MB values held 1,000 MB in the host
 * (1,000 frames of 1 MB each, the count bound alone).
 */

/** One event as it goes on the wire: its whole SSE frame, made once for every client. */
export interface Frame {
  readonly bytes: Uint8Array;
}

export interface QueueBounds {
  /** Most frames held (`maxQueuedEvents`). */
  readonly events: number;
  /** Most bytes held (`maxQueuedBytes`); never less than the largest frame. */
  readonly bytes: number;
}

export class EventQueue {
  #frames: Frame[] = [];
  /** Index of the oldest frame still held: shifting a long array is O(n) each time. */
  #head = 0;
  #bytes = 0;
  #dropped = 0;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(private readonly bounds: QueueBounds) {}

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  push(frame: Frame): void {
    if (this.#closed) return;
    this.#frames.push(frame);
    this.#bytes += frame.bytes.byteLength;
    // The newest frame always stays: it is at most maxEventBytes, and maxQueuedBytes is at least that.
    while (
      this.#frames.length - this.#head > this.bounds.events ||
      (this.#bytes > this.bounds.bytes && this.#frames.length - this.#head > 1)
    ) {
      const old = this.#frames[this.#head] as Frame;
      this.#frames[this.#head++] = undefined as unknown as Frame;
      this.#bytes -= old.bytes.byteLength;
      this.#dropped++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#frames.length) {
      this.#frames = this.#frames.slice(this.#head);
      this.#head = 0;
    }
    this.#wake?.();
  }

  /** How many frames were dropped since the last call (0 if none). */
  takeDropped(): number {
    const n = this.#dropped;
    this.#dropped = 0;
    return n;
  }

  /** The oldest frame, removed from the queue; undefined when empty. */
  shift(): Frame | undefined {
    if (this.#head >= this.#frames.length) return undefined;
    const frame = this.#frames[this.#head] as Frame;
    this.#frames[this.#head++] = undefined as unknown as Frame;
    this.#bytes -= frame.bytes.byteLength;
    if (this.#head === this.#frames.length) {
      this.#frames = [];
      this.#head = 0;
    }
    return frame;
  }

  /**
   * Resolves when a frame comes or the queue is closed (`false`), or after `ms` with nothing
   * (`true`: time for a keep-alive).
   */
  wait(ms: number): Promise<boolean> {
    if (this.#closed || this.#head < this.#frames.length) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve(true);
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve(false);
      };
    });
  }

  /** Drops everything and wakes the waiting loop, which then ends. */
  close(): void {
    this.#closed = true;
    this.#frames = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#wake?.();
  }
}
