/**
 * Sources given as functions: they run on the calling thread. While stop() runs on that thread no
 * synchronous source code can be running, so a source still busy is parked in an await: it is
 * abandoned at once (its signal aborted, its iterator returned or reader cancelled) and its late
 * result is never delivered.
 */

import { formatDuration } from "@specter/core";
import { PollTimeoutError } from "./errors.ts";
import { pump, settledOrNextTurn } from "./pump.ts";
import type { PollSession, StreamSession, StreamSink } from "./session.ts";
import type { PollFunction, StreamFunction, StreamLike } from "./types.ts";

export class LocalPollSession implements PollSession {
  readonly isolation = "thread";
  #inflight: { controller: AbortController; done: Promise<unknown> } | undefined;

  constructor(private readonly fn: PollFunction<unknown>) {}

  call(timeout: number | undefined): Promise<unknown> {
    const controller = new AbortController();
    const done = (async () => this.fn({ signal: controller.signal }))();
    const inflight = { controller, done };
    this.#inflight = inflight;
    const settle = () => {
      if (this.#inflight === inflight) this.#inflight = undefined;
    };
    done.then(settle, settle);
    if (timeout === undefined) return done;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new PollTimeoutError(`poll took longer than ${formatDuration(timeout)}`);
        controller.abort(error);
        reject(error);
      }, timeout);
      done.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  close(_stopTimeout: number): Promise<void> {
    const inflight = this.#inflight;
    if (!inflight) return Promise.resolve();
    this.#inflight = undefined;
    inflight.controller.abort(new Error("watcher stopped"));
    return settledOrNextTurn(inflight.done);
  }
}

export class LocalStreamSession implements StreamSession {
  readonly isolation = "thread";
  #run: { closed: boolean; controller: AbortController; done: Promise<void> } | undefined;

  constructor(
    private readonly fn: StreamFunction<unknown>,
    private readonly sink: StreamSink,
  ) {}

  start(): void {
    const run = { closed: false, controller: new AbortController(), done: Promise.resolve() };
    const sink = this.sink;
    this.#run = run;
    run.done = (async () => {
      try {
        const source = await this.fn({ signal: run.controller.signal });
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
        if (!run.closed) sink.end();
      } catch (error) {
        if (!run.closed) sink.end(error instanceof Error ? error : new Error(String(error)));
      } finally {
        if (this.#run === run) this.#run = undefined;
      }
    })();
  }

  close(_stopTimeout: number): Promise<void> {
    const run = this.#run;
    if (!run) return Promise.resolve();
    run.closed = true;
    run.controller.abort(new Error("watcher stopped"));
    return settledOrNextTurn(run.done);
  }
}
