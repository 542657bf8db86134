/**
 * Sources given as functions: they run on the calling thread. While stop() runs on that thread no
 * synchronous source code can be running, so a source still busy is parked in an await: it is
 * abandoned at once (its signal aborted, its iterator returned or reader cancelled) and its late
 * result is never delivered.
 */

import { formatDuration, settlesWithin } from "@specter/core";
import { Cleanups } from "./cleanups.ts";
import { PollTimeoutError } from "./errors.ts";
import { abortCall, type LazyAbort, signalOf } from "./lazy-abort.ts";
import { pump, settledOrNextTurn } from "./pump.ts";
import type { PollSession, StreamSession, StreamSink } from "./session.ts";
import type { PollFunction, SourceCleanup, StreamFunction, StreamLike } from "./types.ts";

/** One poll in flight; its signal is made only if the source reads it (see lazy-abort.ts). */
interface PollCall extends LazyAbort {
  done: Promise<unknown> | undefined;
}

export class LocalPollSession implements PollSession {
  readonly isolation = "thread";
  #inflight: PollCall | undefined;
  /** What polls registered with `onClose`, run at close; made at the first registration. */
  #cleanups: Cleanups | undefined;
  readonly #onClose = (cleanup: SourceCleanup) => {
    this.#cleanups ??= new Cleanups();
    return this.#cleanups.add(cleanup);
  };
  /**
   * Without a timeout the watcher polls again only after this poll settled, so whatever settles
   * is the poll in flight: one pair of handlers serves every call, no closures per poll.
   */
  readonly #settled = (value: unknown) => {
    this.#inflight = undefined;
    return value;
  };
  readonly #failed = (error: unknown) => {
    this.#inflight = undefined;
    throw error;
  };

  constructor(private readonly fn: PollFunction<unknown>) {}

  call(timeout: number | undefined): Promise<unknown> {
    const inflight: PollCall = {
      controller: undefined,
      aborted: false,
      reason: undefined,
      done: undefined,
    };
    // The source sees `signal` and `onClose`, own properties (so `{ ...context }` keeps them).
    const context = {
      get signal() {
        return signalOf(inflight);
      },
      onClose: this.#onClose,
    };
    let done: Promise<unknown>;
    try {
      done = Promise.resolve(this.fn(context));
    } catch (error) {
      done = Promise.reject(error);
    }
    inflight.done = done;
    this.#inflight = inflight;
    if (timeout === undefined) return done.then(this.#settled, this.#failed);
    const settle = () => {
      if (this.#inflight === inflight) this.#inflight = undefined;
    };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new PollTimeoutError(`poll took longer than ${formatDuration(timeout)}`);
        abortCall(inflight, error);
        reject(error);
      }, timeout);
      done.then(
        (value) => {
          clearTimeout(timer);
          settle();
          resolve(value);
        },
        (error) => {
          clearTimeout(timer);
          settle();
          reject(error);
        },
      );
    });
  }

  async close(stopTimeout: number): Promise<void> {
    const inflight = this.#inflight;
    if (inflight) {
      this.#inflight = undefined;
      abortCall(inflight, new Error("watcher stopped"));
      await settledOrNextTurn(inflight.done as Promise<unknown>);
    }
    // Made here if nothing was registered yet: a poll that ignored its abort and registers later
    // must find a closed list, whose additions run at once (a fresh one would never run).
    this.#cleanups ??= new Cleanups();
    // Cleanups that outlast stopTimeout are abandoned, as a source parked in an await is.
    await settlesWithin(this.#cleanups.run(), stopTimeout);
  }
}

export class LocalStreamSession implements StreamSession {
  readonly isolation = "thread";
  #run:
    | { closed: boolean; controller: AbortController; done: Promise<void>; cleanups: Cleanups }
    | undefined;

  constructor(
    private readonly fn: StreamFunction<unknown>,
    private readonly sink: StreamSink,
  ) {}

  start(): void {
    const run = {
      closed: false,
      controller: new AbortController(),
      done: Promise.resolve(),
      cleanups: new Cleanups(),
    };
    const sink = this.sink;
    this.#run = run;
    run.done = (async () => {
      let error: unknown;
      try {
        const source = await this.fn({
          signal: run.controller.signal,
          onClose: (cleanup) => run.cleanups.add(cleanup),
        });
        if (run.closed) return;
        const pushed = {
          push(item: unknown) {
            if (!run.closed) sink.item(item);
            return false;
          },
          flush() {
            sink.flush();
          },
        };
        await pump(source as StreamLike<unknown>, pushed, {
          get closed() {
            return run.closed;
          },
          busy() {},
          signal: run.controller.signal,
        });
      } catch (caught) {
        error = caught ?? new Error(String(caught));
      } finally {
        // Before the end is reported: a reopened stream must not meet these resources.
        await run.cleanups.run();
        if (this.#run === run) this.#run = undefined;
      }
      if (run.closed) return;
      if (error === undefined) sink.end();
      else sink.end(error instanceof Error ? error : new Error(String(error)));
    })();
  }

  async close(stopTimeout: number): Promise<void> {
    const run = this.#run;
    if (!run) return;
    run.closed = true;
    run.controller.abort(new Error("watcher stopped"));
    await settledOrNextTurn(run.done);
    await settlesWithin(run.cleanups.run(), stopTimeout);
  }
}
