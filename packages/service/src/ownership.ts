/**
 * What a service owns, held in one core `Scope` per lifetime: resources (`own`), child services
 * (`adopt`), processes (`startProcess`), tasks and subscriptions all register their release in
 * it, and a stop closes it (last acquired, first released, each bounded by `cleanupTimeout`).
 * Closed, it is replaced by a fresh scope, so the service can start again and a cleanup added
 * while it is stopped runs at the next stop. Owned watchers, processes and children are also
 * tracked here for `health()` and for the activity feed.
 */
import { basename } from "node:path";
import { type Listeners, OptionsError, runBounded, Scope } from "@specter/core";
import {
  ManagedProcess,
  type ProcessOptions,
  type StartOptions,
  startProcess,
} from "@specter/process";
import { Watcher } from "@specter/watcher";
import { type Activity, childActivity, processActivity, watcherActivity } from "./activity.ts";
import { type CleanupMethod, cleanupFor } from "./cleanup.ts";
import type { ServiceErrorPhase, ServiceHealth, ServiceState } from "./health.ts";

/** Options of `service.startProcess()`: the process's options and its start options together. */
export interface ServiceProcessOptions extends ProcessOptions, StartOptions {
  /** Name of the process (default: the file name of argv[0]). */
  name?: string;
}

/** What ownership needs of a child service. */
export interface ChildService {
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
}

export class Ownership<C extends ChildService> {
  #scope: Scope;
  readonly #watchers = new Set<Watcher<unknown, unknown>>();
  readonly #processes = new Set<ManagedProcess>();
  readonly #children = new Set<C>();

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
   * Releases everything, last acquired first (cleanups added meanwhile too), then opens a fresh
   * scope for the next lifetime. Never rejects: failures are reported.
   */
  async close(): Promise<void> {
    await this.#scope.close();
    this.#scope = this.#newScope();
  }

  addCleanup(fn: () => unknown, label: string): () => void {
    if (typeof fn !== "function") {
      throw new OptionsError(`Service "${this.host.name}".addCleanup()`, [
        { option: "fn", value: fn, expected: "a function" },
      ]);
    }
    return this.#scope.addCleanup(fn, label);
  }

  own<R>(resource: R, stopMethod?: CleanupMethod<R>): R {
    const release = cleanupFor(resource, stopMethod);
    const label = labelOf(resource);
    const state = this.host.state;
    if (state === "stopped" || state === "failed") {
      // Late work of an onStart that failed or was abandoned, or a caller that missed the stop:
      // nothing may outlive its owner, so release it now.
      this.host.report("cleanup", `own(${label}) after the service ${state}: released at once`);
      void runBounded(release, this.host.cleanupTimeout, label).then((error) => {
        if (error) this.host.report("cleanup", error.message, error.cause);
      });
      return resource;
    }
    const untrack = this.#track(resource);
    this.#scope.addCleanup(async () => {
      try {
        await release();
      } finally {
        untrack();
      }
    }, label);
    return resource;
  }

  async adopt(child: C, self: unknown): Promise<C> {
    if (!this.host.isService(child)) {
      throw new TypeError(
        `adopt(): expected a Service, got ${child === null ? "null" : typeof child}; use own() for other resources`,
      );
    }
    if (child === self) throw new TypeError("adopt(): a service cannot adopt itself");
    this.own(child);
    await child.start();
    return child;
  }

  startProcess(argv: string[], options: ServiceProcessOptions = {}): ManagedProcess {
    const { name, ...rest } = options;
    const processName =
      name ?? (Array.isArray(argv) && typeof argv[0] === "string" ? basename(argv[0]) : "process");
    return this.own(startProcess(processName, argv, rest));
  }

  #newScope(): Scope {
    return new Scope(this.host.name, {
      cleanupTimeout: this.host.cleanupTimeout,
      onError: (error) => this.host.report("cleanup", error.message, error.cause),
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
