import { Backoff } from "@specter/core";
import { Delivery, type DeliveryOptions } from "./delivery.ts";
import { describeFailure, phaseOf, WatcherError } from "./errors.ts";
import { type FeedEvents, WatcherFeed } from "./feed.ts";
import { isolationOf, openSession } from "./open-session.ts";
import { resolveOptions, type WatcherConfig } from "./options.ts";
import { nextTick, type Run } from "./run.ts";
import type { PollSession, SessionEvents, StreamSession, StreamSink } from "./session.ts";
import { cancel, schedule } from "./ticker.ts";
import type {
  Subscriber,
  WatcherHealth,
  WatcherMode,
  WatcherOptions,
  WatcherState,
} from "./types.ts";
import { WorkerSession } from "./worker-session.ts";

/**
 * The events of `Watcher.on()` and their listener arguments: `value: [value, watcher]`,
 * `error: [error, watcher]`, `state: [state, previous, watcher]`.
 */
export type WatcherEvents<T, V> = FeedEvents<V, Watcher<T, V>>;

/**
 * Set by `Watcher`'s static block, so a `WatcherRun` (the ticker's entry and the session's events)
 * reaches its watcher's private methods without a closure per run.
 */
let runDue: (run: WatcherRun) => void;
let runRestarted: (run: WatcherRun, reason: string) => void;

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
  /** Made at the first failure: most watchers never retry. */
  #backoff: Backoff | undefined;
  readonly #delivery: Delivery<V>;
  #startedAt: number | null = null;
  #errorCount = 0;
  #consecutive = 0;
  #skipped = 0;
  #workerRestarts = 0;
  #lastWorkerRestart: WatcherHealth["lastWorkerRestart"] = null;

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
    this.#startedAt = Date.now();
    this.#backoff?.reset();
    this.#consecutive = 0;
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
    const session = run?.session;
    return {
      name: this.name,
      mode: this.mode,
      state: this.#feed.state,
      isolation: isolationOf(this.#config),
      errorCount: this.#errorCount,
      consecutiveErrors: this.#consecutive,
      callbackErrors: this.#feed.callbackErrors,
      lastError: this.#feed.last,
      lastValueAt: this.#delivery.lastValueAt,
      delivered: this.#delivery.delivered,
      deduped: this.#delivery.deduped,
      uptime: this.#startedAt === null ? 0 : Date.now() - this.#startedAt,
      subscribers: this.#feed.values.size,
      skippedTicks: this.#skipped,
      workerRestarts: this.#workerRestarts,
      lastWorkerRestart: this.#lastWorkerRestart,
      quarantined: session instanceof WorkerSession && session.quarantined,
      unkillable: session instanceof WorkerSession && session.unkillable,
      nextRetryIn:
        run?.retryAt === undefined
          ? null
          : Math.max(0, Math.round(run.retryAt - performance.now())),
    };
  }

  // ---- sessions ---------------------------------------------------------------------------

  #openSession(run: WatcherRun): PollSession | StreamSession {
    const sink = this.mode === "stream" ? this.#sink(run) : undefined;
    return openSession(this.#config, run, sink, this.name);
  }

  #restarted(run: Run, reason: string): void {
    if (run.closed) return;
    this.#workerRestarts++;
    this.#lastWorkerRestart = { reason, at: Date.now() };
  }

  #sink(run: Run): StreamSink {
    return {
      item: (value) => {
        if (run.closed) return;
        this.#succeeded();
        this.#delivery.deliver(value);
      },
      flush: () => {
        this.#delivery.stamp();
      },
      items: (values, bad) => {
        if (run.closed) return;
        this.#succeeded();
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
        this.#succeeded();
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
    this.#skipped += nextTick(run, interval, performance.now());
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

  #succeeded(): void {
    if (this.#consecutive !== 0 || (this.#backoff !== undefined && this.#backoff.attempt !== 0)) {
      this.#consecutive = 0;
      this.#backoff?.reset();
    }
  }

  #failed(run: Run, error: Error): void {
    const phase = phaseOf(error, this.mode);
    this.#errorCount++;
    this.#consecutive++;
    this.#feed.report(
      new WatcherError(this.name, phase, describeFailure(phase, error), { cause: error }),
    );
    if (run.closed) return;
    if (phase === "load" || !this.#config.retry) this.#finish(run, "failed");
    else this.#retryLater(run);
  }

  #retryLater(run: Run): void {
    this.#backoff ??= new Backoff({
      initial: this.#config.initialBackoff,
      max: this.#config.maxBackoff,
      jitter: this.#config.jitter,
    });
    const delay = this.#backoff.next();
    run.retryAt = performance.now() + delay;
    this.#setState("backoff");
    schedule(run, run.retryAt);
  }

  /** The loop ended by itself (`failed` or `ended`): release the source without waiting. */
  #finish(run: Run, state: "failed" | "ended"): void {
    this.#release(run);
    this.#closing = run.session.close(this.#config.stopTimeout);
    this.#setState(state);
  }

  #release(run: Run): void {
    run.closed = true;
    cancel(run);
    run.retryAt = undefined;
    if (this.#run === run) this.#run = undefined;
    this.#startedAt = null;
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
    runDue = (run) => run.watcher.#due(run);
    runRestarted = (run, reason) => run.watcher.#restarted(run, reason);
  }
}

/** One `start()` of a watcher; its `due()` is the ticker's callback, with no closure per run. */
class WatcherRun implements Run, SessionEvents {
  closed = false;
  session = undefined as unknown as PollSession | StreamSession;
  at = 0;
  slot = -1;
  anchor = 0;
  tick = 0;
  retryAt: number | undefined = undefined;

  // biome-ignore lint/suspicious/noExplicitAny: a run serves watchers of every value type
  constructor(readonly watcher: Watcher<any, any>) {}

  due(): void {
    runDue(this);
  }

  /** The session's events: its source was restarted in another worker. */
  restarted(reason: string): void {
    runRestarted(this, reason);
  }
}
