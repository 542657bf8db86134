/**
 * What a service owns, held in one core `Scope` per lifetime: resources (`own`), child services
 * (`adopt`), processes (`startProcess`), tasks and subscriptions all register their release in
 * it, and a stop closes it (last acquired, first released, each bounded by `cleanupTimeout` or by
 * what the resource says its stop needs, if longer). The closed scope stays until the next start
 * opens a fresh one, so whatever is acquired in between (late work of an abandoned `onStart`, a
 * caller that missed the stop) is released at once and reported: nothing outlives its owner.
 * Owned watchers, processes and children are also tracked here for `health()` and activity.
 */
import { basename } from "node:path";
import { type CleanupOptions, type Listeners, OptionsError, Scope } from "@specter/core";
import {
  ManagedProcess,
  type ProcessOptions,
  type StartOptions,
  startProcess,
} from "@specter/process";
import { Watcher } from "@specter/watcher";
import { type Activity, childActivity, processActivity, watcherActivity } from "./activity.ts";
import { checkAdoption, type OwnerNode } from "./adoption.ts";
import { type CleanupMethod, cleanupFor } from "./cleanup.ts";
import { ServiceError } from "./errors.ts";
import type { ServiceErrorPhase, ServiceHealth, ServiceState } from "./health.ts";

/** Options of `service.startProcess()`: the process's options and its start options together. */
export interface ServiceProcessOptions extends ProcessOptions, StartOptions {
  /** Name of the process (default: the file name of argv[0]). */
  name?: string;
}

/** What ownership needs of a child service. */
export interface ChildService extends OwnerNode {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): ServiceHealth;
  on(event: "activity", fn: (activity: Activity) => unknown): () => void;
}

/** What ownership needs from its service. */
export interface OwnershipHost<C extends ChildService> {
  readonly name: string;
  readonly state: ServiceState;
  readonly cleanupTimeout: number;
  readonly activity: Listeners<[Activity]>;
  report(phase: ServiceErrorPhase, message: string, cause?: unknown): void;
  /** Whether `value` is a Service (service.ts imports this module, so it cannot import Service). */
  isService(value: unknown): value is C;
  /** Whether `child.stop` is Service's own, which bounds each of its steps (not an override). */
  stopsStepByStep(child: C): boolean;
  /** The service itself, for the adoption-cycle check. */
  readonly self: OwnerNode;
}

/** Time for a watcher's worker to be killed after its `stopTimeout` passed. */
const WATCHER_KILL_MARGIN_MS = 1_000;

export class Ownership<C extends ChildService> {
  #scope: Scope;
  readonly #watchers = new Set<Watcher<unknown, unknown>>();
  readonly #processes = new Set<ManagedProcess>();
  readonly #children = new Set<C>();
  /** How `own()` names the resource it is adding, should the scope report it as late. */
  #lateAs: string | undefined;

  constructor(private readonly host: OwnershipHost<C>) {
    this.#scope = this.#newScope();
  }

  /** The scope of the current lifetime. */
  get scope(): Scope {
    return this.#scope;
  }

  get watchers(): readonly Watcher<unknown, unknown>[] {
    return [...this.#watchers];
  }

  get processes(): readonly ManagedProcess[] {
    return [...this.#processes];
  }

  get children(): readonly C[] {
    return [...this.#children];
  }

  /**
   * Releases everything, last acquired first (cleanups added meanwhile too). The scope stays
   * closed until `open()`, so what is added meanwhile is released at once. Never rejects.
   */
  close(): Promise<void> {
    return this.#scope.close();
  }

  /** Begins a lifetime: a fresh scope if the last one closed (a start after a stop). */
  open(): void {
    if (this.#scope.state === "closed") this.#scope = this.#newScope();
  }

  addCleanup(fn: () => unknown, label: string, options?: CleanupOptions): () => void {
    if (typeof fn !== "function") {
      throw new OptionsError(`Service "${this.host.name}".addCleanup()`, [
        { option: "fn", value: fn, expected: "a function" },
      ]);
    }
    return this.#scope.addCleanup(fn, label, options);
  }

  own<R>(resource: R, stopMethod?: CleanupMethod<R>): R {
    if (this.host.isService(resource)) checkAdoption(this.host.self, resource, "own");
    return this.#own(resource, stopMethod);
  }

  async adopt(child: C): Promise<C> {
    if (!this.host.isService(child)) {
      throw new TypeError(
        `adopt(): expected a Service, got ${child === null ? "null" : typeof child}; use own() for other resources`,
      );
    }
    checkAdoption(this.host.self, child, "adopt");
    const late = this.#scope.state === "closed";
    this.#own(child);
    if (late) {
      throw new ServiceError(
        this.host.name,
        "start",
        `adopt(service "${child.name}") after the service stopped: not started`,
      );
    }
    await child.start();
    return child;
  }

  startProcess(argv: string[], options: ServiceProcessOptions = {}): ManagedProcess {
    const { name, ...rest } = options;
    const processName =
      name ?? (Array.isArray(argv) && typeof argv[0] === "string" ? basename(argv[0]) : "process");
    return this.own(startProcess(processName, argv, rest));
  }

  /** `own()` once the adoption check passed. */
  #own<R>(resource: R, stopMethod?: CleanupMethod<R>): R {
    const label = labelOf(resource);
    const ownStop = stopMethod === undefined || stopMethod === "stop";
    if (ownStop && resource instanceof ManagedProcess) {
      // The process knows how long its stop can take (terminateTimeout, killTimeout): it registers
      // its stop with that bound, through attach() like with any other owner.
      resource.attach({
        addCleanup: (fn: () => unknown, _label?: string, options?: CleanupOptions) =>
          this.#ownTracked(resource, fn, label, options),
      });
      return resource;
    }
    const bound = ownStop ? this.#boundOf(resource) : undefined;
    this.#ownTracked(resource, cleanupFor(resource, stopMethod), label, bound);
    return resource;
  }

  /** Registers `release` of `resource`, tracked for health() until it has run. */
  #ownTracked(
    resource: unknown,
    release: () => unknown,
    label: string,
    options: CleanupOptions | undefined,
  ): () => void {
    const late = this.#scope.state === "closed";
    const untrack = late ? () => {} : this.#track(resource);
    this.#lateAs = `own(${label})`;
    try {
      return this.#scope.addCleanup(
        async () => {
          try {
            await release();
          } finally {
            untrack();
          }
        },
        label,
        options,
      );
    } finally {
      this.#lateAs = undefined;
    }
  }

  /**
   * How long `resource`'s own stop() may take, when it says so: Service's stop is bounded step by
   * step (its onStop and each of its cleanups), so it is waited for as a whole; a watcher gets its
   * `stopTimeout` and the time to kill its worker. A release given to `own()`, or a subclass's
   * override of stop(), says nothing of how long it takes: it gets `cleanupTimeout` (waited for
   * without a bound, one that never settled hung the owner's stop forever).
   */
  #boundOf(resource: unknown): CleanupOptions | undefined {
    if (this.host.isService(resource)) {
      return this.host.stopsStepByStep(resource)
        ? { timeout: Number.POSITIVE_INFINITY }
        : undefined;
    }
    return resource instanceof Watcher
      ? { timeout: resource.stopTimeout + WATCHER_KILL_MARGIN_MS }
      : undefined;
  }

  /**
   * Reports what was added to a closed scope (released at once): late work of an abandoned or
   * failed onStart, or a caller that missed the stop, whether it came through the service
   * (`addCleanup`, `own`, `attach`, owners) or straight to `svc.scope` (`addCleanup`, `fork`).
   */
  #reportLate(label: string, scope: Scope): void {
    const what = this.#lateAs ?? `${label} added`;
    if (scope !== this.#scope) {
      // A fork closed earlier, or the scope of an earlier lifetime: the service may be running.
      this.host.report(
        "cleanup",
        `${what} to scope "${scope.name}" after it closed: released at once`,
      );
      return;
    }
    const ended = this.host.state === "failed" ? "failed" : "stopped";
    this.host.report("cleanup", `${what} after the service ${ended}: released at once`);
  }

  #newScope(): Scope {
    return new Scope(this.host.name, {
      cleanupTimeout: this.host.cleanupTimeout,
      onError: (error) => this.host.report("cleanup", error.message, error.cause),
      onLate: (label, scope) => this.#reportLate(label, scope),
    });
  }

  /** Tracks a watcher, process or child for health() and activity; returns how to stop. */
  #track(resource: unknown): () => void {
    const { name, activity } = this.host;
    if (resource instanceof Watcher) {
      const watcher = resource as Watcher<unknown, unknown>;
      return this.#add(this.#watchers, watcher, watcherActivity(name, watcher, activity));
    }
    if (resource instanceof ManagedProcess) {
      return this.#add(this.#processes, resource, processActivity(name, resource, activity));
    }
    if (this.host.isService(resource)) {
      return this.#add(this.#children, resource, childActivity(name, resource, activity));
    }
    return () => {};
  }

  #add<T>(set: Set<T>, item: T, off: () => void): () => void {
    set.add(item);
    return () => {
      off();
      set.delete(item);
    };
  }
}

/** How a resource is named in messages: its class and, if it has one, its name. */
function labelOf(resource: unknown): string {
  const named = resource as { name?: unknown; constructor?: { name?: string } };
  const kind = named?.constructor?.name ?? typeof resource;
  return typeof named?.name === "string" ? `${kind} "${named.name}"` : kind;
}
