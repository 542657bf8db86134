import type { CleanupOptions, Duration, Scope } from "@specter/core";
import type { ManagedProcess } from "@specter/process";
import type { Watcher } from "@specter/watcher";
import type { Activity } from "./activity.ts";
import type { CleanupMethod } from "./cleanup.ts";
import { DataStore, type OnDataOptions } from "./data.ts";
import type { ServiceError } from "./errors.ts";
import { EventBus, type EventMap, listenTo } from "./event-bus.ts";
import { Feed } from "./feed.ts";
import type { ServiceHealth, ServiceState } from "./health.ts";
import { Lifecycle } from "./lifecycle.ts";
import { Ownership, type ServiceProcessOptions } from "./ownership.ts";
import { type SpawnHandle, type TaskHandle, Tasks } from "./tasks.ts";
import {
  type DataOf,
  type EventsOf,
  parseServiceOptions,
  type ServiceEvents,
  type ServiceOptions,
  type ServiceTypes,
} from "./types.ts";

type AnyService = Service<ServiceTypes>;

/**
 * A long-lived owner. `start()` runs `onStart` once; `stop()` runs `onStop`, then releases
 * everything the service owns (resources, child services, timers, tasks, subscriptions) in
 * reverse order, each bounded by `cleanupTimeout`, so one stuck resource cannot hang shutdown.
 *
 * ```ts
 * class MonitorService extends Service {
 *   override onStart() {
 *     this.own(new Watcher("disk", { poll: checkDisk, interval: "30s" })).start();
 *   }
 * }
 * ```
 *
 * This class is the public face; each concern has its own file: the start/stop queue in
 * `lifecycle.ts`, what it owns in `ownership.ts` (one core `Scope` per lifetime), timers and tasks
 * in `tasks.ts`, activity in `activity.ts`, the data in `data.ts`, the listeners in `feed.ts`.
 */
export class Service<T extends ServiceTypes = ServiceTypes> {
  readonly name: string;
  /** This service's own events: `emit()` publishes here, `listen()` subscribes here by default. */
  readonly events: EventBus<EventsOf<T>>;
  // The private fields do not mention T: tsc compares them too, and typed with T they would make
  // a typed service no longer a `Service` (for `register`, `adopt`, `statusOf`). The methods give
  // the types back. packages/service/test/types.test.ts checks both sides.
  readonly #feed: Feed<object>;
  readonly #lifecycle: Lifecycle;
  readonly #owned: Ownership<AnyService>;
  readonly #tasks: Tasks;
  readonly #data: DataStore<object>;

  /** @throws {OptionsError} for a bad name or option. */
  constructor(name: string, options: ServiceOptions<T> = {}) {
    const o = parseServiceOptions(name, options);
    this.name = name;
    const feed = new Feed<object>(name);
    this.#feed = feed;
    this.events = new EventBus<EventsOf<T>>((error, event) =>
      feed.listenerFailed(String(event), error),
    );
    const report = feed.report.bind(feed);
    const common = { name, cleanupTimeout: o.cleanupTimeout, report };
    this.#lifecycle = new Lifecycle(
      {
        ...common,
        runStart: async () => {
          await this.onStart();
          await o.onStart?.(this as never);
        },
        runStop: async () => {
          await this.onStop();
          await o.onStop?.(this as never);
        },
        open: () => this.#owned.open(),
        release: () => this.#owned.close(),
        owned: () => this.#owned.scope.size,
        changed: feed.stateChanged.bind(feed),
      },
      feed.emitter.listeners("state"),
    );
    const lifecycle = this.#lifecycle;
    const host = {
      ...common,
      activity: feed.activity,
      get state() {
        return lifecycle.state;
      },
      isService: (value: unknown): value is AnyService => value instanceof Service,
      stopsStepByStep: (child: AnyService) => child.stop === Service.prototype.stop,
      self: this,
      addCleanup: (fn: () => unknown, label: string) => this.#owned.addCleanup(fn, label),
    };
    this.#owned = new Ownership<AnyService>(host);
    this.#tasks = new Tasks(host);
    this.#data = new DataStore(o.initialData, feed);
  }

  /** Runs when the service starts; may be async. A throw rolls back what it acquired. */
  protected onStart(): unknown {
    return undefined;
  }

  /** Runs when the service stops, before what it owns is released. */
  protected onStop(): unknown {
    return undefined;
  }

  /** The lifecycle state. (The service's own data is `data`.) */
  get state(): ServiceState {
    return this.#lifecycle.state;
  }

  get running(): boolean {
    return this.state === "running";
  }

  /**
   * Runs `onStart` once. Idempotent and safe to call concurrently: calls queue up and the last one
   * wins (`stop(); start()` ends running). If `onStart` throws, everything acquired so far is
   * released, the state is `failed` and the promise rejects with the cause.
   */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  /**
   * Runs `onStop`, then releases everything owned, last acquired first. Idempotent and safe to call
   * concurrently; never rejects: a failing cleanup is reported (`"error"`) and the rest still run.
   * Called while `onStart` runs, it aborts `this.signal` and gives `onStart` up to `cleanupTimeout`
   * to return before rolling back (the pending `start()` then rejects).
   */
  stop(): Promise<void> {
    return this.#lifecycle.stop();
  }

  /** Aborted when `stop()` is called: hand it to work that `onStart` or tasks wait on. */
  get signal(): AbortSignal {
    return this.#lifecycle.signal;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * The core `Scope` of the current lifetime, which everything the service owns is released
   * through; a stop closes it (what is added to it afterwards is released at once) and the next
   * start opens a fresh one. Use it where an API wants a `Scope`, or `fork()` it for a shorter
   * lifetime inside the service's. To release everything, call `stop()`, not `scope.close()`.
   */
  get scope(): Scope {
    return this.#owned.scope;
  }

  /**
   * Registers `fn` to run when the service stops (last added, first run), bounded by the larger of
   * `cleanupTimeout` and `options.timeout`. Added before the first start, it runs at the first
   * stop; added once the service has stopped (or failed, or while it stops, after its scope
   * closed), it runs at once and is reported, since nothing may outlive its owner. Returns a
   * function that removes it without running it.
   */
  addCleanup(fn: () => unknown, label = "cleanup", options?: CleanupOptions): () => void {
    return this.#owned.addCleanup(fn, label, options);
  }

  /**
   * Owns `resource`: it is released when the service stops, by `stopMethod` or by the first of
   * stop(), close(), disconnect(), destroy(), terminate(), kill(), [Symbol.asyncDispose](),
   * [Symbol.dispose](). Returns the resource. Watchers, processes and services it owns appear in
   * `health()` and in the status endpoint.
   * @throws {TypeError} when no cleanup method can be found.
   */
  own<R>(resource: R, stopMethod?: CleanupMethod<R>): R {
    return this.#owned.own(resource, stopMethod);
  }

  /**
   * Owns a child service and starts it; resolves with it once started (rejects if it fails to
   * start). Rejects with a `ServiceError` for itself or an ancestor (a service that already owns
   * this one): ownership is a tree. After this service stopped, the child is not started.
   */
  adopt<C extends AnyService>(child: C): Promise<C> {
    return this.#owned.adopt(child) as Promise<C>;
  }

  /** Starts a ManagedProcess owned by this service (stopped, with its whole process group, on stop). */
  startProcess(argv: string[], options: ServiceProcessOptions = {}): ManagedProcess {
    return this.#owned.startProcess(argv, options);
  }

  /** Calls `fn` every `every` until cancelled or the service stops, never overlapping a run. */
  interval(fn: (signal: AbortSignal) => unknown, every: Duration): TaskHandle {
    return this.#tasks.interval(fn, every);
  }

  /** Calls `fn` once after `after`, unless cancelled or the service stops first. */
  timeout(fn: (signal: AbortSignal) => unknown, after: Duration): TaskHandle {
    return this.#tasks.timeout(fn, after);
  }

  /**
   * Runs an async task with an `AbortSignal` that aborts when the service stops (or on `cancel()`);
   * stop waits for it (bounded by `cleanupTimeout`). Its error is reported, not thrown.
   */
  spawn<R>(fn: (signal: AbortSignal) => R | Promise<R>): SpawnHandle<R> {
    return this.#tasks.spawn(fn);
  }

  /**
   * Subscribes to an event of this service (or of `source`, another service or an EventBus); the
   * subscription ends when this service stops. Returns a function that ends it earlier.
   */
  listen<K extends keyof EventsOf<T>>(
    event: K,
    handler: (data: EventsOf<T>[K]) => unknown,
  ): () => void;
  listen<E extends EventMap, K extends keyof E>(
    source: Service<{ events: E }> | EventBus<E>,
    event: K,
    handler: (data: E[K]) => unknown,
  ): () => void;
  listen(...args: unknown[]): () => void {
    const [source, event, handler] =
      args.length >= 3 ? args : [this.events, ...(args as [unknown, unknown])];
    const bus = source instanceof Service ? source.events : source;
    return listenTo(this, bus, event, handler);
  }

  /** Publishes an event to this service's listeners (and to the status endpoint's `/events`). */
  emit<K extends keyof EventsOf<T>>(event: K, data: EventsOf<T>[K]): void {
    this.events.emit(event, data);
    this.#feed.emitted(String(event), data);
  }

  /** The service's data (`initialData`, then shallow-merged by `setData`). */
  get data(): Readonly<DataOf<T>> {
    return this.#data.value as Readonly<DataOf<T>>;
  }

  /** Shallow-merges `partial` into `data` and calls the `"data"` listeners with (data, previous). */
  setData(partial: Partial<DataOf<T>>): void {
    this.#data.set(partial);
  }

  /**
   * `on("data", fn)` with options: `immediate` also calls `fn(data, data)` now; `owner` (a
   * Service, a core `Scope`, anything with `addCleanup`) ends the subscription when it closes.
   */
  onData(
    fn: (data: Readonly<DataOf<T>>, previous: Readonly<DataOf<T>>) => unknown,
    options: OnDataOptions = {},
  ): () => void {
    return this.#data.subscribe(
      fn as (data: object, previous: object) => unknown,
      options,
      `data listener of service "${this.name}"`,
    );
  }

  /** @deprecated use `data`; removed in 0.2. */
  getState(): Readonly<DataOf<T>> {
    return this.data;
  }

  /** @deprecated use `setData`; removed in 0.2. */
  setState(partial: Partial<DataOf<T>>): void {
    this.setData(partial);
  }

  /** @deprecated use `onData`; removed in 0.2. */
  subscribe(
    fn: (data: Readonly<DataOf<T>>, previous: Readonly<DataOf<T>>) => unknown,
    options: OnDataOptions = {},
  ): () => void {
    return this.onData(fn, options);
  }

  /**
   * Calls `fn` on each `event` ("state", "error", "activity", "data"; see `ServiceEvents`).
   * Returns a function that unsubscribes. @throws {OptionsError} for an unknown event.
   */
  on<K extends keyof ServiceEvents>(
    event: K,
    fn: (...args: ServiceEvents<DataOf<T>>[K]) => unknown,
  ): () => void {
    return this.#feed.emitter.on(event, fn as never);
  }

  /** The same as `on("state", fn)`. */
  onLifecycle(fn: (state: ServiceState, previous: ServiceState) => unknown): () => void {
    return this.on("state", fn);
  }

  /** The same as `on("error", fn)`. */
  onError(fn: (error: ServiceError) => unknown): () => void {
    return this.on("error", fn);
  }

  /** The same as `on("activity", fn)`. */
  onActivity(fn: (activity: Activity) => unknown): () => void {
    return this.on("activity", fn);
  }

  health(): ServiceHealth {
    return {
      name: this.name,
      state: this.state,
      uptime: this.#lifecycle.uptime,
      owned: this.#owned.scope.size,
      tasks: this.#tasks.counts,
      errorCount: this.#feed.reporter.reported,
      lastError: this.#feed.reporter.last,
      watchers: this.#owned.watchers.map((w) => w.health()),
      processes: this.#owned.processes.map((p) => p.health()),
      children: this.#owned.children.map((c) => c.health()),
    };
  }

  /** The processes this service owns now (the status endpoint shows their argv). @internal */
  ownedProcesses(): readonly ManagedProcess[] {
    return this.#owned.processes;
  }

  /** The watchers this service owns now (the status page shows their last value). @internal */
  ownedWatchers(): readonly Watcher<unknown, unknown>[] {
    return this.#owned.watchers;
  }

  /** The child services this service owns now. @internal */
  ownedChildren(): readonly AnyService[] {
    return this.#owned.children;
  }
}
