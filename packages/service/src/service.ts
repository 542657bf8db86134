import { basename } from "node:path";
import {
  type Duration,
  durationSchema,
  formatDuration,
  Listeners,
  messageOf,
  OptionsError,
  parseOptions,
  settlesWithin,
} from "@specter/core";
import {
  ManagedProcess,
  type ProcessOptions,
  type StartOptions,
  startProcess,
} from "@specter/process";
import { Watcher } from "@specter/watcher";
import { z } from "zod";
import type { Activity } from "./activity.ts";
import { type CleanupMethod, cleanupFor } from "./cleanup.ts";
import { ServiceError, type ServiceErrorPhase } from "./errors.ts";
import { EventBus, type EventMap } from "./event-bus.ts";
import type { SpawnHandle, TaskHandle } from "./tasks.ts";

export type ServiceState = "idle" | "starting" | "running" | "stopping" | "stopped" | "failed";

/** Type parameters of a service: the shape of its `getState()` and of its events. */
export interface ServiceTypes {
  state?: object;
  events?: EventMap;
}
type StateOf<T extends ServiceTypes> = T["state"] extends object
  ? T["state"]
  : Record<string, unknown>;
type EventsOf<T extends ServiceTypes> = T["events"] extends EventMap ? T["events"] : EventMap;

export interface ServiceOptions<T extends ServiceTypes = ServiceTypes> {
  /** Longest wait for each cleanup (and `onStop`) during `stop()` before moving on (default "10s"). */
  cleanupTimeout?: Duration;
  /** Initial value of `getState()`. */
  initialState?: StateOf<T>;
  /** Instead of subclassing: runs at start, like `onStart()`. */
  onStart?: (service: Service<T>) => unknown;
  /** Instead of subclassing: runs at stop, before the teardown, like `onStop()`. */
  onStop?: (service: Service<T>) => unknown;
}

/** Options of `service.startProcess()`: the process's options and its start options together. */
export interface ServiceProcessOptions extends ProcessOptions, StartOptions {
  /** Name of the process (default: the file name of argv[0]). */
  name?: string;
}

export interface ServiceHealth {
  name: string;
  state: ServiceState;
  /** Milliseconds since it started; 0 when not running. */
  uptime: number;
  /** Cleanups waiting for the next stop (owned resources, tasks, subscriptions). */
  owned: number;
  tasks: { intervals: number; timeouts: number; spawned: number };
  errorCount: number;
  lastError: { message: string; phase: ServiceErrorPhase; at: number } | null;
  watchers: ReturnType<Watcher["health"]>[];
  processes: ReturnType<ManagedProcess["health"]>[];
  children: ServiceHealth[];
}

interface Cleanup {
  label: string;
  fn: () => unknown;
}

const optionsSchema = z.strictObject({
  cleanupTimeout: durationSchema({ positive: true }).default(10_000),
  initialState: z.record(z.string(), z.unknown(), { error: "an object" }).optional(),
  onStart: z
    .custom<(service: unknown) => unknown>((v) => typeof v === "function", {
      message: "a function (service) => void",
    })
    .optional(),
  onStop: z
    .custom<(service: unknown) => unknown>((v) => typeof v === "function", {
      message: "a function (service) => void",
    })
    .optional(),
});

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
 * const svc = new MonitorService("monitor");
 * await svc.start();
 * await svc.stop();
 * ```
 */
export class Service<T extends ServiceTypes = ServiceTypes> {
  readonly name: string;
  /** This service's events: `emit()` publishes here, `listen()` subscribes here by default. */
  readonly events: EventBus<EventsOf<T>>;
  readonly #options: z.output<typeof optionsSchema>;
  #state: ServiceState = "idle";
  #cleanups = new Map<number, Cleanup>();
  #nextCleanup = 1;
  /** The last queued start/stop; later calls run after it. */
  #lastOp: { kind: "start" | "stop"; promise: Promise<void> } | undefined;
  #abandonStart: (() => void) | undefined;
  #lifetime = new AbortController();
  #startedAt: number | null = null;
  #data: StateOf<T>;
  #dataListeners: Listeners<[StateOf<T>, StateOf<T>]>;
  #lifecycle: Listeners<[ServiceState, ServiceState]>;
  #errors: Listeners<[ServiceError]>;
  #activity: Listeners<[Activity]>;
  #watchers = new Set<Watcher<unknown, unknown>>();
  #processes = new Set<ManagedProcess>();
  #children = new Set<Service<ServiceTypes>>();
  #tasks = { intervals: 0, timeouts: 0, spawned: 0 };
  #errorCount = 0;
  #lastError: ServiceHealth["lastError"] = null;

  /** @throws {OptionsError} for a bad name or option. */
  constructor(name: string, options: ServiceOptions<T> = {}) {
    parseOptions(z.object({ name: z.string().min(1, "a non-empty string") }), { name }, "Service");
    this.#options = parseOptions(optionsSchema, options, `Service "${name}"`);
    this.name = name;
    this.#data = { ...(options.initialState ?? {}) } as StateOf<T>;
    const report = (phase: ServiceErrorPhase) => (error: unknown) =>
      this.#report(phase, `a ${phase} threw: ${messageOf(error)}`, error);
    this.events = new EventBus<EventsOf<T>>((error, event) =>
      this.#report(
        "listener",
        `a listener of "${String(event)}" threw: ${messageOf(error)}`,
        error,
      ),
    );
    this.#dataListeners = new Listeners(report("listener"));
    this.#lifecycle = new Listeners(report("listener"));
    this.#errors = new Listeners((error) =>
      console.error(`[specter] onError listener of service "${name}" threw:`, error),
    );
    this.#activity = new Listeners((error) =>
      console.error(`[specter] activity listener of service "${name}" threw:`, error),
    );
  }

  /** Runs when the service starts; may be async. A throw rolls back what it acquired. */
  protected onStart(): unknown {
    return undefined;
  }

  /** Runs when the service stops, before what it owns is released. */
  protected onStop(): unknown {
    return undefined;
  }

  get state(): ServiceState {
    return this.#state;
  }

  get running(): boolean {
    return this.#state === "running";
  }

  /**
   * Runs `onStart` once. Idempotent and safe to call concurrently: calls queue up and the last one
   * wins (`stop(); start()` ends running). If `onStart` throws, everything acquired so far is
   * released, the state is `failed` and the promise rejects with the cause.
   */
  start(): Promise<void> {
    return this.#enqueue("start");
  }

  /**
   * Runs `onStop`, then releases everything owned, last acquired first. Idempotent and safe to call
   * concurrently; never rejects: a failing cleanup is reported (`onError`) and the rest still run.
   * Called while `onStart` runs, it aborts `this.signal` and gives `onStart` up to `cleanupTimeout`
   * to return before rolling back (the pending `start()` then rejects).
   */
  stop(): Promise<void> {
    if (this.#state === "starting" && this.#lastOp?.kind === "start") this.#abandonStart?.();
    return this.#enqueue("stop");
  }

  /** Aborted when `stop()` is called: hand it to work that `onStart` or tasks wait on. */
  get signal(): AbortSignal {
    return this.#lifetime.signal;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** Queues `kind` after the operations already queued; repeats of the last one share its promise. */
  #enqueue(kind: "start" | "stop"): Promise<void> {
    if (this.#lastOp?.kind === kind) return this.#lastOp.promise;
    const previous = this.#lastOp?.promise.catch(() => {}) ?? Promise.resolve();
    const op = {
      kind,
      promise: previous.then(() => (kind === "start" ? this.#start() : this.#stop())),
    };
    this.#lastOp = op;
    const clear = () => {
      if (this.#lastOp === op) this.#lastOp = undefined;
    };
    op.promise.then(clear, clear);
    return op.promise;
  }

  async #start(): Promise<void> {
    if (this.#state === "running") return;
    this.#lifetime = new AbortController();
    this.#setLifecycle("starting");
    const { promise: abandoned, resolve: abandon } = Promise.withResolvers<"abandoned">();
    let timer: Timer | undefined;
    this.#abandonStart = () => {
      this.#lifetime.abort(new Error(`service "${this.name}" is stopping`));
      timer = setTimeout(abandon, this.#options.cleanupTimeout, "abandoned");
    };
    try {
      const outcome = await Promise.race([
        (async () => {
          await this.onStart();
          await this.#options.onStart?.(this as never);
        })(),
        abandoned,
      ]);
      if (outcome === "abandoned" || this.#lifetime.signal.aborted) {
        throw new Error(
          `service "${this.name}": start abandoned because stop() was called while onStart was running`,
        );
      }
    } catch (error) {
      const stopping = this.#lifetime.signal.aborted;
      if (!stopping)
        this.#report(
          "start",
          `onStart failed: ${messageOf(error)}; released what it had acquired`,
          error,
        );
      await this.#teardown();
      this.#setLifecycle(stopping ? "stopped" : "failed");
      throw error;
    } finally {
      clearTimeout(timer);
      this.#abandonStart = undefined;
    }
    this.#startedAt = Date.now();
    this.#setLifecycle("running");
  }

  async #stop(): Promise<void> {
    this.#lifetime.abort(new Error(`service "${this.name}" is stopping`));
    if (this.#state !== "running" && this.#cleanups.size === 0) return;
    this.#setLifecycle("stopping");
    if (this.#startedAt !== null) {
      await this.#bounded(
        "onStop",
        async () => {
          await this.onStop();
          await this.#options.onStop?.(this as never);
        },
        "stop",
      );
    }
    await this.#teardown();
    this.#startedAt = null;
    this.#setLifecycle("stopped");
  }

  /** Releases every cleanup, newest first; cleanups added meanwhile are released too. */
  async #teardown(): Promise<void> {
    while (this.#cleanups.size > 0) {
      const entries = [...this.#cleanups.values()].reverse();
      this.#cleanups.clear();
      for (const entry of entries) await this.#bounded(entry.label, entry.fn, "cleanup");
    }
  }

  async #bounded(label: string, fn: () => unknown, phase: ServiceErrorPhase): Promise<void> {
    const limit = this.#options.cleanupTimeout;
    const run = Promise.resolve().then(fn);
    if (!(await settlesWithin(run, limit))) {
      this.#report(
        phase,
        `${label} did not finish within ${formatDuration(limit)} (cleanupTimeout); moved on`,
      );
      return;
    }
    try {
      await run;
    } catch (error) {
      this.#report(phase, `${label} failed: ${messageOf(error)}`, error);
    }
  }

  // ---- ownership ----------------------------------------------------------------------------

  /**
   * Registers `fn` to run when the service stops (last added, first run). Returns a function that
   * removes it without running it.
   */
  addCleanup(fn: () => unknown, label = "cleanup"): () => void {
    if (typeof fn !== "function") {
      throw new OptionsError(`Service "${this.name}".addCleanup`, [
        { option: "fn", value: fn, expected: "a function" },
      ]);
    }
    const id = this.#nextCleanup++;
    this.#cleanups.set(id, { label, fn });
    return () => {
      this.#cleanups.delete(id);
    };
  }

  /**
   * Owns `resource`: it is released when the service stops, by `stopMethod` or by the first of
   * stop(), close(), disconnect(), destroy(), terminate(), kill(), [Symbol.asyncDispose](),
   * [Symbol.dispose](). Returns the resource. Watchers, processes and services it owns appear in
   * `health()` and in the status endpoint.
   * @throws {TypeError} when no cleanup method can be found.
   */
  own<R>(resource: R, stopMethod?: CleanupMethod<R>): R {
    const release = cleanupFor(resource, stopMethod);
    if (this.#state === "stopped" || this.#state === "failed") {
      // Late work of an onStart that failed or was abandoned, or a caller that missed the stop:
      // nothing may outlive its owner, so release it now.
      this.#report(
        "cleanup",
        `own(${labelOf(resource)}) after the service ${this.#state}: released at once`,
      );
      void this.#bounded(labelOf(resource), release, "cleanup");
      return resource;
    }
    const untrack = this.#track(resource);
    this.addCleanup(async () => {
      try {
        await release();
      } finally {
        untrack();
      }
    }, labelOf(resource));
    return resource;
  }

  /** Owns a child service and starts it; resolves with it once started (rejects if it fails to start). */
  async adopt<C extends Service<ServiceTypes>>(child: C): Promise<C> {
    if (!(child instanceof Service)) {
      throw new TypeError(
        `adopt(): expected a Service, got ${child === null ? "null" : typeof child}; use own() for other resources`,
      );
    }
    if ((child as Service<ServiceTypes>) === (this as Service<ServiceTypes>))
      throw new TypeError("adopt(): a service cannot adopt itself");
    this.own(child);
    await child.start();
    return child;
  }

  /** Starts a ManagedProcess owned by this service (stopped, with its whole process group, on stop). */
  startProcess(argv: string[], options: ServiceProcessOptions = {}): ManagedProcess {
    const { name, ...rest } = options;
    const processName =
      name ?? (Array.isArray(argv) && typeof argv[0] === "string" ? basename(argv[0]) : "process");
    return this.own(startProcess(processName, argv, rest));
  }

  #track(resource: unknown): () => void {
    if (resource instanceof Watcher)
      return this.#trackWatcher(resource as Watcher<unknown, unknown>);
    if (resource instanceof ManagedProcess) return this.#trackProcess(resource);
    if (resource instanceof Service) return this.#trackChild(resource as Service<ServiceTypes>);
    return () => {};
  }

  #trackWatcher(watcher: Watcher<unknown, unknown>): () => void {
    this.#watchers.add(watcher);
    const offs = [
      watcher.subscribe((value) => {
        if (this.#activity.size > 0) {
          this.#activity.emit({
            type: "watcher-value",
            service: this.name,
            watcher: watcher.name,
            value,
            at: Date.now(),
          });
        }
      }),
      watcher.onState((state, previous) => {
        this.#activity.emit({
          type: "watcher-state",
          service: this.name,
          watcher: watcher.name,
          state,
          previous,
          at: Date.now(),
        });
      }),
    ];
    return () => {
      for (const off of offs) off();
      this.#watchers.delete(watcher);
    };
  }

  #trackProcess(proc: ManagedProcess): () => void {
    this.#processes.add(proc);
    const base = () => ({ service: this.name, process: proc.name, at: Date.now() });
    const offs = [
      proc.on("state", (state, previous) =>
        this.#activity.emit({ type: "process-state", ...base(), state, previous }),
      ),
      proc.on("exit", (exit) => this.#activity.emit({ type: "process-exit", ...base(), exit })),
      proc.on("restart", ({ restarts, delay }) =>
        this.#activity.emit({ type: "process-restart", ...base(), restarts, delay }),
      ),
      proc.on("giveUp", ({ restarts }) =>
        this.#activity.emit({ type: "process-give-up", ...base(), restarts }),
      ),
    ];
    return () => {
      for (const off of offs) off();
      this.#processes.delete(proc);
    };
  }

  #trackChild(child: Service<ServiceTypes>): () => void {
    this.#children.add(child);
    const off = child.onActivity((activity) =>
      this.#activity.emit({ ...activity, service: `${this.name}/${activity.service}` }),
    );
    return () => {
      off();
      this.#children.delete(child);
    };
  }

  // ---- managed timers and tasks -------------------------------------------------------------

  /**
   * Calls `fn` every `every` (a duration) until cancelled or the service stops. A run still going
   * when the next is due is not overlapped. Errors are reported to `onError`.
   */
  interval(fn: (signal: AbortSignal) => unknown, every: Duration): TaskHandle {
    const ms = this.#taskArgs("interval", fn, every, "every");
    const controller = new AbortController();
    let running: Promise<unknown> | undefined;
    const timer = setInterval(() => {
      if (running) return;
      running = this.#runTask("interval", () => fn(controller.signal), controller.signal).finally(
        () => {
          running = undefined;
        },
      );
    }, ms);
    this.#tasks.intervals++;
    return this.#handle("interval", controller, () => {
      clearInterval(timer);
      this.#tasks.intervals--;
      return running;
    });
  }

  /** Calls `fn` once after `after` (a duration), unless cancelled or the service stops first. */
  timeout(fn: (signal: AbortSignal) => unknown, after: Duration): TaskHandle {
    const ms = this.#taskArgs("timeout", fn, after, "after");
    const controller = new AbortController();
    let running: Promise<unknown> | undefined;
    let pending = true;
    this.#tasks.timeouts++;
    const finish = () => {
      if (pending) this.#tasks.timeouts--;
      pending = false;
    };
    const timer = setTimeout(() => {
      running = this.#runTask("timeout", () => fn(controller.signal), controller.signal).finally(
        () => {
          finish();
          handle.cancel();
        },
      );
    }, ms);
    const handle = this.#handle("timeout", controller, () => {
      clearTimeout(timer);
      finish();
      return running;
    });
    return handle;
  }

  /**
   * Runs an async task with an `AbortSignal` that aborts when the service stops (or on `cancel()`);
   * stop waits for it (bounded by `cleanupTimeout`). Its error is reported, not thrown.
   */
  spawn<R>(fn: (signal: AbortSignal) => R | Promise<R>): SpawnHandle<R> {
    this.#taskArgs("spawn", fn, 1, "after");
    const controller = new AbortController();
    this.#tasks.spawned++;
    const done = this.#runTask("task", () => fn(controller.signal), controller.signal) as Promise<
      R | undefined
    >;
    const handle = this.#handle("task", controller, () => done) as SpawnHandle<R>;
    Object.defineProperties(handle, {
      done: { value: done },
      signal: { value: controller.signal },
    });
    done.finally(() => {
      this.#tasks.spawned--;
      (handle as { remove?: () => void }).remove?.();
    });
    return handle;
  }

  #taskArgs(what: string, fn: unknown, duration: Duration, option: string): number {
    const context = `Service "${this.name}".${what}()`;
    if (typeof fn !== "function")
      throw new OptionsError(context, [{ option: "fn", value: fn, expected: "a function" }]);
    if (this.#state !== "starting" && this.#state !== "running") {
      throw new Error(
        `${context}: the service is ${this.#state}; schedule work from onStart() or while it runs`,
      );
    }
    return parseOptions(
      z.object({ [option]: durationSchema({ positive: true }) }),
      { [option]: duration },
      context,
    )[option] as number;
  }

  async #runTask(label: string, fn: () => unknown, signal?: AbortSignal): Promise<unknown> {
    try {
      return await fn();
    } catch (error) {
      if (!signal?.aborted) this.#report("task", `${label} failed: ${messageOf(error)}`, error);
      return undefined;
    }
  }

  #handle(label: string, controller: AbortController, stopTimer: () => unknown): TaskHandle {
    let active = true;
    const cancel = () => {
      if (!active) return undefined;
      active = false;
      remove();
      controller.abort(new Error(`${label} cancelled`));
      return stopTimer();
    };
    const remove = this.addCleanup(cancel, label);
    return {
      cancel: () => {
        cancel();
      },
      get active() {
        return active;
      },
      remove: () => {
        active = false;
        remove();
      },
    } as TaskHandle;
  }

  // ---- events and state ---------------------------------------------------------------------

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
      args.length >= 3
        ? (args as [Service | EventBus, string, (data: unknown) => unknown])
        : [this.events, ...(args as [string, (data: unknown) => unknown])];
    const bus = source instanceof Service ? source.events : source;
    if (!(bus instanceof EventBus))
      throw new TypeError(
        "listen(source, event, handler): source must be a Service or an EventBus",
      );
    if (typeof handler !== "function")
      throw new TypeError(`listen(): the handler of "${String(event)}" must be a function`);
    const off = (bus as EventBus).on(event, handler);
    const remove = this.addCleanup(off, `listener of "${String(event)}"`);
    return () => {
      off();
      remove();
    };
  }

  /** Publishes an event to this service's listeners (and to the status endpoint's `/events`). */
  emit<K extends keyof EventsOf<T>>(event: K, data: EventsOf<T>[K]): void {
    this.events.emit(event, data);
    if (this.#activity.size > 0)
      this.#activity.emit({
        type: "event",
        service: this.name,
        event: String(event),
        data,
        at: Date.now(),
      });
  }

  getState(): Readonly<StateOf<T>> {
    return this.#data;
  }

  /** Shallow-merges `partial` into the state and notifies subscribers with (state, previous). */
  setState(partial: Partial<StateOf<T>>): void {
    const previous = this.#data;
    this.#data = { ...previous, ...partial };
    this.#dataListeners.emit(this.#data, previous);
  }

  /**
   * Calls `fn(state, previous)` on every `setState`. `immediate` also calls it now; `owner` (another
   * service, or anything with addCleanup) ends the subscription when it stops.
   */
  subscribe(
    fn: (state: Readonly<StateOf<T>>, previous: Readonly<StateOf<T>>) => unknown,
    options: { immediate?: boolean; owner?: { addCleanup(fn: () => unknown): unknown } } = {},
  ): () => void {
    if (options.owner && typeof options.owner.addCleanup !== "function") {
      throw new TypeError("subscribe(): options.owner must have addCleanup(fn), like a Service");
    }
    const remove = this.#dataListeners.add(fn);
    const removeCleanup = options.owner?.addCleanup(remove);
    const off = () => {
      remove();
      if (typeof removeCleanup === "function") removeCleanup();
    };
    if (options.immediate) {
      try {
        fn(this.#data, this.#data);
      } catch (error) {
        this.#report("listener", `a state subscriber threw: ${messageOf(error)}`, error);
      }
    }
    return off;
  }

  // ---- observation ----------------------------------------------------------------------------

  /** Calls `fn(state, previous)` on every lifecycle change (`starting`, `running`, ...). */
  onLifecycle(fn: (state: ServiceState, previous: ServiceState) => unknown): () => void {
    return this.#lifecycle.add(fn);
  }

  /** Errors that have no caller to throw to. Without a listener they go to `console.error`. */
  onError(fn: (error: ServiceError) => unknown): () => void {
    return this.#errors.add(fn);
  }

  /** Everything that happens inside, for live views: see `Activity`. */
  onActivity(fn: (activity: Activity) => unknown): () => void {
    return this.#activity.add(fn);
  }

  health(): ServiceHealth {
    return {
      name: this.name,
      state: this.#state,
      uptime: this.#startedAt === null ? 0 : Date.now() - this.#startedAt,
      owned: this.#cleanups.size,
      tasks: { ...this.#tasks },
      errorCount: this.#errorCount,
      lastError: this.#lastError,
      watchers: [...this.#watchers].map((w) => w.health()),
      processes: [...this.#processes].map((p) => p.health()),
      children: [...this.#children].map((c) => c.health()),
    };
  }

  /** The processes this service owns now (the status endpoint shows their argv). @internal */
  ownedProcesses(): readonly ManagedProcess[] {
    return [...this.#processes];
  }

  /** The child services this service owns now. @internal */
  ownedChildren(): readonly Service<ServiceTypes>[] {
    return [...this.#children];
  }

  #report(phase: ServiceErrorPhase, message: string, cause?: unknown): void {
    const error = new ServiceError(
      this.name,
      phase,
      message,
      cause === undefined ? undefined : { cause },
    );
    this.#errorCount++;
    this.#lastError = { message: error.message, phase, at: Date.now() };
    if (this.#activity.size > 0)
      this.#activity.emit({
        type: "error",
        service: this.name,
        phase,
        message: error.message,
        at: Date.now(),
      });
    if (this.#errors.size === 0) console.error(`[specter] ${error.message}`);
    else this.#errors.emit(error);
  }

  #setLifecycle(state: ServiceState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.#lifecycle.emit(state, previous);
    if (this.#activity.size > 0)
      this.#activity.emit({ type: "service", service: this.name, state, previous, at: Date.now() });
  }
}

function labelOf(resource: unknown): string {
  const named = resource as { name?: unknown; constructor?: { name?: string } };
  const kind = named?.constructor?.name ?? typeof resource;
  return typeof named?.name === "string" ? `${kind} "${named.name}"` : kind;
}
