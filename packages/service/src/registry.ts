import {
  type CleanupOwner,
  type Duration,
  durationSchema,
  Emitter,
  formatDuration,
  type HostSignal,
  isCleanupOwner,
  parseOptions,
} from "@specter/core";
import { z } from "zod";
import type { Activity } from "./activity.ts";
import { RegistryError } from "./errors.ts";
import { Service } from "./service.ts";
import { type HandleSignalsOptions, handleRegistrySignals } from "./signals.ts";
import type { ServiceTypes } from "./types.ts";

interface Entry {
  value: unknown;
  owner: string | undefined;
  removeCleanup: (() => void) | undefined;
}

export interface ProvideOptions {
  /**
   * When it closes, the key is unregistered: a Service, a core `Scope`, anything with
   * `addCleanup(fn)`. Its `name`, if it has one, is listed as the owner.
   */
  owner?: CleanupOwner & { name?: string };
  /** Replace an existing value instead of throwing. */
  replace?: boolean;
}

export interface RegistryEntryInfo {
  key: string;
  /** `typeof` the value, or its class name. */
  kind: string;
  owner: string | null;
}

type AnyService = Service<ServiceTypes>;

/** The events of `registry.on(event, fn)`, with their listeners' arguments. */
export type RegistryEvents = {
  /** What happens in every registered service. */
  activity: [activity: Activity];
};

/**
 * Named values shared between services (`provide` / `resolve` / `require` / `waitFor`), and the
 * list of services that a status endpoint shows and a host shutdown stops.
 */
export class Registry {
  #entries = new Map<string, Entry>();
  #waiters = new Map<string, Set<(value: unknown) => void>>();
  #services: AnyService[] = [];
  #serviceOffs = new Map<AnyService, () => void>();
  #stopRequested = false;
  readonly #emitter = new Emitter<RegistryEvents>(["activity"], "Registry.on()", (error) =>
    console.error('[specter] an "activity" listener of the registry threw:', error),
  );

  /** Makes `value` available under `key`. @throws {RegistryError} when the key is taken (unless `replace`). */
  provide<T>(key: string, value: T, options: ProvideOptions = {}): T {
    checkKey(key, "provide");
    const existing = this.#entries.get(key);
    if (existing && !options.replace) {
      throw new RegistryError(
        `provide("${key}"): the key is taken${existing.owner ? ` by "${existing.owner}"` : ""}; pass { replace: true } to replace it, or unregister("${key}") first`,
      );
    }
    const owner = options.owner;
    if (owner !== undefined && !isCleanupOwner(owner)) {
      throw new TypeError(
        `provide("${key}"): options.owner must have addCleanup(fn), like a Service or a Scope`,
      );
    }
    existing?.removeCleanup?.();
    const entry: Entry = { value, owner: owner?.name, removeCleanup: undefined };
    const cleanup = owner?.addCleanup(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    }, `registry key "${key}"`);
    if (typeof cleanup === "function") entry.removeCleanup = cleanup as () => void;
    this.#entries.set(key, entry);
    const waiters = this.#waiters.get(key);
    if (waiters) {
      this.#waiters.delete(key);
      for (const resolve of waiters) resolve(value);
    }
    return value;
  }

  /** The value under `key`, or `undefined`. */
  resolve<T>(key: string): T | undefined {
    return this.#entries.get(key)?.value as T | undefined;
  }

  /** The value under `key`. @throws {RegistryError} naming the keys there are. */
  require<T>(key: string): T {
    checkKey(key, "require");
    const entry = this.#entries.get(key);
    if (!entry) {
      const keys = [...this.#entries.keys()];
      throw new RegistryError(
        `require("${key}"): nothing is provided under that key (provided: ${keys.length ? keys.map((k) => `"${k}"`).join(", ") : "none"}); provide it first, or use waitFor("${key}")`,
      );
    }
    return entry.value as T;
  }

  /**
   * Resolves once `key` is provided (at once if it is); rejects after `timeout` (default "5s"), or
   * when `signal` aborts.
   */
  waitFor<T>(key: string, options: { timeout?: Duration; signal?: AbortSignal } = {}): Promise<T> {
    checkKey(key, "waitFor");
    const { signal, ...rest } = options;
    const { timeout } = parseOptions(
      z.strictObject({ timeout: durationSchema({ positive: true }).default(5_000) }),
      rest,
      `Registry.waitFor("${key}")`,
    );
    const entry = this.#entries.get(key);
    if (entry) return Promise.resolve(entry.value as T);
    return new Promise<T>((resolve, reject) => {
      let waiters = this.#waiters.get(key);
      if (!waiters) {
        waiters = new Set();
        this.#waiters.set(key, waiters);
      }
      const forget = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        waiters.delete(done);
        if (waiters.size === 0) this.#waiters.delete(key);
      };
      const done = (value: unknown) => {
        forget();
        resolve(value as T);
      };
      const onAbort = () => {
        forget();
        reject(signal?.reason ?? new RegistryError(`waitFor("${key}"): aborted`));
      };
      const timer = setTimeout(() => {
        forget();
        reject(
          new RegistryError(
            `waitFor("${key}"): nothing was provided within ${formatDuration(timeout)}`,
          ),
        );
      }, timeout);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      waiters.add(done);
    });
  }

  /** Removes `key`; returns whether it was there. */
  unregister(key: string): boolean {
    const entry = this.#entries.get(key);
    if (!entry) return false;
    entry.removeCleanup?.();
    return this.#entries.delete(key);
  }

  list(): RegistryEntryInfo[] {
    return [...this.#entries].map(([key, entry]) => ({
      key,
      kind: kindOf(entry.value),
      owner: entry.owner ?? null,
    }));
  }

  /**
   * Registers a service so the status endpoint shows it and `stop()` stops it. Returns it.
   * @throws {RegistryError} when another service of that name is registered.
   */
  register<S extends AnyService>(service: S): S {
    if (!(service instanceof Service)) throw new TypeError("register(): expected a Service");
    if (this.#serviceOffs.has(service)) return service;
    const clash = this.service(service.name);
    if (clash)
      throw new RegistryError(
        `register(): a service named "${service.name}" is already registered; names must be unique`,
      );
    this.#services.push(service);
    this.#serviceOffs.set(
      service,
      service.on("activity", (activity) => this.#emitter.emit("activity", activity)),
    );
    return service;
  }

  /** Forgets a service (does not stop it). */
  deregister(service: AnyService): boolean {
    const off = this.#serviceOffs.get(service);
    if (!off) return false;
    off();
    this.#serviceOffs.delete(service);
    this.#services = this.#services.filter((s) => s !== service);
    return true;
  }

  services(): readonly AnyService[] {
    return [...this.#services];
  }

  service(name: string): AnyService | undefined {
    return this.#services.find((s) => s.name === name);
  }

  /**
   * Calls `fn` on each `event` ("activity": what happens in every registered service). Returns a
   * function that unsubscribes. @throws {OptionsError} for an unknown event.
   */
  on<K extends keyof RegistryEvents>(
    event: K,
    fn: (...args: RegistryEvents[K]) => unknown,
  ): () => void {
    return this.#emitter.on(event, fn);
  }

  /** The same as `on("activity", fn)`. */
  onActivity(fn: (activity: Activity) => unknown): () => void {
    return this.on("activity", fn);
  }

  /** True once `stop()` was called (by hand or by a signal); it stays true. */
  get stopRequested(): boolean {
    return this.#stopRequested;
  }

  /** Stops every registered service, most recently registered first, one after another. */
  async stop(): Promise<void> {
    this.#stopRequested = true;
    for (const service of [...this.#services].reverse()) await service.stop();
  }

  /**
   * On SIGINT or SIGTERM (or `signals`), calls `onSignal` and stops every registered service,
   * newest first. Then,
   * without `onStopped`, the signal is raised again and ends the host as it would have without
   * this handler; with it, `onStopped(signal)` is called and the program decides how to end. A
   * second signal while stopping ends the host at once, or calls `onRepeat`. Returns a function
   * that removes the handlers.
   * @throws {OptionsError} for a bad option.
   */
  handleSignals(signals?: readonly HostSignal[]): () => void;
  handleSignals(options: HandleSignalsOptions): () => void;
  handleSignals(arg: readonly HostSignal[] | HandleSignalsOptions = {}): () => void {
    return handleRegistrySignals(this, arg);
  }
}

function checkKey(key: unknown, method: string): void {
  if (typeof key !== "string" || key === "") {
    throw new TypeError(
      `${method}(): the key must be a non-empty string, got ${typeof key === "string" ? '""' : typeof key}`,
    );
  }
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}

/** The registry services use unless given another. */
export const registry = new Registry();
