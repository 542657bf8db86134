/** How a watcher talks to its source, wherever the source runs. Internal. */
import type { BadItem } from "./protocol.ts";
import type { Isolation } from "./types.ts";

export interface PollSession {
  readonly isolation: Isolation;
  /** Runs one poll; rejects with `PollTimeoutError` after `timeout` ms (the late result is dropped). */
  call(timeout: number | undefined): Promise<unknown>;
  /**
   * Signals the source and abandons it at once when it is parked in an await; only source code
   * still running (a module source in synchronous code) is waited for, up to `stopTimeout` ms,
   * then its worker is killed.
   */
  close(stopTimeout: number): Promise<void>;
}

export interface StreamSession {
  readonly isolation: Isolation;
  /** Opens (or, after an end, reopens) the stream; items and the end go to the `StreamSink`. */
  start(): void;
  close(stopTimeout: number): Promise<void>;
}

export interface StreamSink {
  /** One item from a source on this thread; `flush()` follows at least once per event-loop turn. */
  item(value: unknown): void;
  flush(): void;
  items(values: unknown[], bad?: BadItem[]): void;
  /** The stream finished: cleanly, or with `error`. */
  end(error?: Error): void;
}

/**
 * Extra time a module source's poll timeout allows while its Worker or subprocess starts and
 * imports the module: a cold start is not the poll's fault.
 */
export const LOAD_ALLOWANCE = 5_000;

/** A module source's poll awaiting its answer from the Worker or subprocess. */
export interface PendingCall {
  call: number;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timeout: number | undefined;
  timer: Timer | undefined;
}

export interface SessionEvents {
  /** The source was restarted in another worker because its worker died or was killed. */
  restarted(reason: string): void;
}
