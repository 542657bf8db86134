import { Delivery, type DeliveryOptions } from "./delivery.ts";
import { describeFailure, phaseOf, WatcherError } from "./errors.ts";
import { type FeedEvents, WatcherFeed } from "./feed.ts";
import { isolationOf, openSession } from "./open-session.ts";
import { resolveOptions, type WatcherConfig } from "./options.ts";
import { nextTick, type Run } from "./run.ts";
import type { PollSession, StreamSession, StreamSink } from "./session.ts";
import { cancel, schedule } from "./ticker.ts";
import type {
  Subscriber,
  WatcherHealth,
  WatcherMode,
  WatcherOptions,
  WatcherState,
} from "./types.ts";
import { runHooks, WatcherRun } from "./watcher-run.ts";
import { healthOf, WatcherStats } from "./watcher-stats.ts";

/**
 * The events of `Watcher.on()` and their listener arguments: `value: [value, watcher]`,
 * `error: [error, watcher]`, `state: [state, previous, watcher]`.
 */
export type WatcherEvents<T, V> = FeedEvents<V, Watcher<T, V>>;

/** What `stop()` returns when nothing runs: one settled promise for every watcher. */
const SETTLED: Promise<void> = Promise.resolve();

/**
 * A background loop that polls a function on an interval or follows a stream, and hands each value
 * to its subscribers. Sources given as `{ module }` run in a Bun Worker and can be killed when
 * they hang; sources given as functions run on the calling thread.
 *
 * ```ts
 * const w = new Watcher("hdmi-status", { poll: readHdmiStatus, interval: "2s", dedupe: true });
 * w.subscribe((value) => console.log(value));
 * w.start();
 * await w.stop();
 * ```
 */
export class Watcher<T = unknown, V = T> {
  readonly name: string;
  readonly mode: WatcherMode;
  readonly #config: WatcherConfig;
  /** Its events, error bookkeeping and state (see feed.ts). */
  readonly #feed: WatcherFeed<V, Watcher<T, V>>;
  #run: Run | undefined;
  #stopping: Promise<void> | undefined;
  #closing: Promise<void> = SETTLED;
  #startAfterStop = false;
  readonly #delivery: Delivery<V>;
  /** Counters, backoff and what health() reports from them. */
  readonly #stats = new WatcherStats();

  /** @throws {OptionsError} when an option is missing, unknown or out of range; nothing is started. */
  constructor(name: string, options: WatcherOptions<T, V>) {
    this.#config = resolveOptions(name, options as WatcherOptions<unknown, unknown>);
    this.name = name;
    this.mode = this.#config.mode;
    const feed = new WatcherFeed<V, Watcher<T, V>>(name, this);
    this.#feed = feed;
    this.#delivery = new Delivery<V>({
      transform: this.#config.transform,
      dedupe: this.#config.dedupe,
      isolated: this.#config.source.kind === "module" && !this.#config.transform,
      values: feed.values as unknown as DeliveryOptions<V>["values"],
      owner: this,
      feed,
    });
  }

  get state(): WatcherState {
    return this.#feed.state;
  }

  /** True while the loop runs (state `running` or `backoff`). */
  get running(): boolean {
    const state = this.#feed.state;
    return state === "running" || state === "backoff";
  }

  /** Milliseconds `stop()` waits for the source before killing its worker (owners wait as long). */
  get stopTimeout(): number {
    return this.#config.stopTimeout;
  }

  /** The last value delivered to subscribers (after `transform`), or `undefined`. */
  get lastValue(): V | undefined {
    return this.#delivery.last;
  }

  /** Calls `fn(value, watcher)` for every delivered value; returns a function that unsubscribes. */
  subscribe(fn: Subscriber<V>): () => void {
    return this.#feed.on("value", fn as (value: V, watcher: Watcher<T, V>) => unknown);
  }

  /**
   * Calls `fn(error, watcher)` for every error: source failures, timeouts, worker deaths and
   * callbacks that threw. Without any `onError` listener errors are written to `console.error`.
   */
  onError(fn: (error: WatcherError, watcher: Watcher<T, V>) => unknown): () => void {
    return this.#feed.on("error", fn);
  }

  /** Calls `fn(state, previous, watcher)` on every state change. */
  onState(
    fn: (state: WatcherState, previous: WatcherState, watcher: Watcher<T, V>) => unknown,
  ): () => void {
    return this.#feed.on("state", fn);
  }

  /**
   * Subscribes by event name, the one event shape of every Specter class: `"value"` is
   * `subscribe`, `"error"` is `onError`, `"state"` is `onState`. Returns a function that
   * unsubscribes.
   * @throws {OptionsError} for an unknown event or a listener that is not a function.
   */
  on<E extends keyof WatcherEvents<T, V>>(
    event: E,
    fn: (...args: WatcherEvents<T, V>[E]) => unknown,
  ): () => void {
    return this.#feed.on(event, fn);
  }

  /** Starts the loop; does nothing if it runs. Returns the watcher. Poll mode polls at once. */
  start(): this {
    if (this.#stopping) {
      this.#startAfterStop = true;
      return this;
    }
    if (this.#run) return this;
    const run = new WatcherRun(this);
    run.session = this.#openSession(run);
    this.#run = run;
    this.#stats.started();
    this.#setState("running");
    queueMicrotask(() => {
      if (run.closed) return;
      if (this.mode === "poll") this.#beginPolling(run);
      else (run.session as StreamSession).start();
    });
    return this;
  }

  /**
   * Stops the loop: signals the source, waits up to `stopTimeout` for it to finish, then kills
   * its worker (or abandons a function source). Idempotent; concurrent calls share one promise.
   */
  stop(): Promise<void> {
    this.#startAfterStop = false;
    if (this.#stopping) return this.#stopping;
    const run = this.#run;
    if (!run) return this.#closing;
    this.#stopping = this.#stop(run);
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  health(): WatcherHealth {
    const run = this.#run;
    return healthOf(this.#stats, {
      name: this.name,
      mode: this.mode,
      state: this.#feed.state,
      isolation: isolationOf(this.#config),
      feed: this.#feed,
      delivery: this.#delivery as Delivery<unknown>,
      session: run?.session,
      retryAt: run?.retryAt,
    });
  }

  // ---- sessions ---------------------------------------------------------------------------

  #openSession(run: WatcherRun): PollSession | StreamSession {
    const sink = this.mode === "stream" ? this.#sink(run) : undefined;
    return openSession(this.#config, run, sink, this.name);
  }

  #restarted(run: Run, reason: string): void {
    if (!run.closed) this.#stats.restarted(reason);
  }

  #sink(run: Run): StreamSink {
    return {
      item: (value) => {
        if (run.closed) return;
        this.#stats.succeeded();
        this.#delivery.deliver(value);
      },
      flush: () => {
        this.#delivery.stamp();
      },
      items: (values, bad) => {
        if (run.closed) return;
        this.#stats.succeeded();
        const delivery = this.#delivery;
        if (bad) return delivery.deliverWithBad(values, bad, run, (r) => this.#feed.badItem(r));
        for (let i = 0; i < values.length && !run.closed; i++) delivery.deliver(values[i]);
        delivery.stamp();
      },
      end: (error) => {
        if (run.closed) return;
        if (error) this.#failed(run, error);
        else if (!this.#config.retry) this.#finish(run, "ended");
        else this.#retryLater(run);
      },
    };
  }

  // ---- poll loop --------------------------------------------------------------------------

  #beginPolling(run: Run): void {
    run.anchor = performance.now();
    run.tick = 0;
    this.#poll(run);
  }

  #poll(run: Run): void {
    if (run.closed) return;
    run.retryAt = undefined;
    this.#setState("running");
    (run.session as PollSession).call(this.#config.timeout).then(
      (value) => {
        if (run.closed) return; // a late result of an abandoned poll is never delivered
        this.#stats.succeeded();
        this.#delivery.deliver(value);
        this.#delivery.stamp();
        if (!run.closed) this.#scheduleTick(run);
      },
      (error) => {
        if (!run.closed) this.#failed(run, error);
      },
    );
  }

  /** Fixed rate: the next tick is due at anchor + k * interval; ticks that passed during the poll are skipped. */
  #scheduleTick(run: Run): void {
    const interval = this.#config.interval;
    this.#stats.skipped += nextTick(run, interval, performance.now());
    schedule(run, run.anchor + run.tick * interval);
  }

  /** The shared ticker reached this run's deadline: a retry when one is pending, else a tick. */
  #due(run: Run): void {
    if (run.closed) return;
    if (run.retryAt === undefined) this.#poll(run);
    else if (this.mode === "poll") this.#beginPolling(run);
    else {
      run.retryAt = undefined;
      this.#setState("running");
      (run.session as StreamSession).start();
    }
  }

  // ---- outcomes ---------------------------------------------------------------------------

  #failed(run: Run, error: Error): void {
    const phase = phaseOf(error, this.mode);
    this.#stats.failed();
    this.#feed.report(
      new WatcherError(this.name, phase, describeFailure(phase, error), { cause: error }),
    );
    if (run.closed) return;
    if (phase === "load" || !this.#config.retry) this.#finish(run, "failed");
    else this.#retryLater(run);
  }

  #retryLater(run: Run): void {
    run.retryAt = performance.now() + this.#stats.nextDelay(this.#config);
    this.#setState("backoff");
    schedule(run, run.retryAt);
  }

  /** The loop ended by itself (`failed` or `ended`): release the source without waiting. */
  #finish(run: Run, state: "failed" | "ended"): void {
    this.#release(run);
    this.#stats.finished = run.session;
    this.#closing = run.session.close(this.#config.stopTimeout);
    this.#setState(state);
  }

  #release(run: Run): void {
    run.closed = true;
    cancel(run);
    run.retryAt = undefined;
    if (this.#run === run) this.#run = undefined;
    this.#stats.startedAt = null;
  }

  async #stop(run: Run): Promise<void> {
    this.#release(run);
    this.#setState("stopping");
    try {
      await run.session.close(this.#config.stopTimeout);
    } finally {
      this.#stopping = undefined;
      this.#setState("stopped");
      if (this.#startAfterStop) {
        this.#startAfterStop = false;
        this.start();
      }
    }
  }

  #setState(state: WatcherState): void {
    this.#feed.setState(state);
  }

  static {
    runHooks.due = (run) => run.watcher.#due(run);
    runHooks.restarted = (run, reason) => run.watcher.#restarted(run, reason);
  }
}
