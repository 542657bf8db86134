/**
 * A service's lifecycle: `start()` and `stop()` queue up and the last call wins, `onStart` that
 * throws rolls back, `stop()` during a stuck `onStart` abandons it after `cleanupTimeout`, and
 * `onStop` runs before the release, bounded too.
 */
import { type Listeners, messageOf, runBounded, StateCell } from "@specter/core";
import type { ServiceErrorPhase, ServiceState } from "./health.ts";

/** What the lifecycle drives in its service. */
export interface LifecycleHost {
  readonly name: string;
  /** Milliseconds `onStop`, and a stuck `onStart` after `stop()`, are given. */
  readonly cleanupTimeout: number;
  /** `onStart()`, then the `onStart` option. */
  runStart(): Promise<void>;
  /** `onStop()`, then the `onStop` option. */
  runStop(): Promise<void>;
  /** Begins a lifetime: what is acquired from now on is owned until the next release. */
  open(): void;
  /** Releases everything owned (closes the lifetime's scope). */
  release(): Promise<void>;
  /** How many cleanups wait for the next stop. */
  owned(): number;
  report(phase: ServiceErrorPhase, message: string, cause?: unknown): void;
  /** After each state change, for the activity feed. */
  changed(state: ServiceState, previous: ServiceState): void;
}

export class Lifecycle {
  readonly #host: LifecycleHost;
  readonly #cell: StateCell<ServiceState>;
  /** The last queued start/stop; later calls run after it. */
  #lastOp: { kind: "start" | "stop"; promise: Promise<void> } | undefined;
  #abandonStart: (() => void) | undefined;
  #lifetime = new AbortController();
  #startedAt: number | null = null;

  /** @param listeners the service's "state" listeners */
  constructor(host: LifecycleHost, listeners: Listeners<[ServiceState, ServiceState]>) {
    this.#host = host;
    this.#cell = new StateCell<ServiceState>("idle", listeners);
  }

  get state(): ServiceState {
    return this.#cell.value;
  }

  /** Aborted when `stop()` is called. */
  get signal(): AbortSignal {
    return this.#lifetime.signal;
  }

  /** Milliseconds since it started; 0 when not running. */
  get uptime(): number {
    return this.#startedAt === null ? 0 : Date.now() - this.#startedAt;
  }

  start(): Promise<void> {
    return this.#enqueue("start");
  }

  stop(): Promise<void> {
    if (this.state === "starting" && this.#lastOp?.kind === "start") this.#abandonStart?.();
    return this.#enqueue("stop");
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
    if (this.state === "running") return;
    const host = this.#host;
    this.#lifetime = new AbortController();
    host.open();
    this.#set("starting");
    const { promise: abandoned, resolve: abandon } = Promise.withResolvers<"abandoned">();
    let timer: Timer | undefined;
    this.#abandonStart = () => {
      this.#lifetime.abort(new Error(`service "${host.name}" is stopping`));
      timer = setTimeout(abandon, host.cleanupTimeout, "abandoned");
    };
    // A stop queued behind this start (`stop(); start(); stop()`) came before onStart began, when
    // there was nothing to abandon yet: give onStart the aborted signal and the bound now.
    if (this.#lastOp?.kind === "stop") this.#abandonStart();
    try {
      const outcome = await Promise.race([host.runStart(), abandoned]);
      if (outcome === "abandoned" || this.#lifetime.signal.aborted) {
        throw new Error(
          `service "${host.name}": start abandoned because stop() was called while onStart was running`,
        );
      }
    } catch (error) {
      const stopping = this.#lifetime.signal.aborted;
      if (!stopping) {
        const message = `onStart failed: ${messageOf(error)}; released what it had acquired`;
        host.report("start", message, error);
      }
      await host.release();
      this.#set(stopping ? "stopped" : "failed");
      throw error;
    } finally {
      clearTimeout(timer);
      this.#abandonStart = undefined;
    }
    this.#startedAt = Date.now();
    this.#set("running");
  }

  async #stop(): Promise<void> {
    const host = this.#host;
    this.#lifetime.abort(new Error(`service "${host.name}" is stopping`));
    // Not running, but cleanups added before start or after a stop still run.
    if (this.state !== "running" && host.owned() === 0) return;
    this.#set("stopping");
    if (this.#startedAt !== null) {
      const error = await runBounded(() => host.runStop(), host.cleanupTimeout, "onStop");
      if (error) host.report("stop", error.message, error.cause);
    }
    await host.release();
    this.#startedAt = null;
    this.#set("stopped");
  }

  #set(state: ServiceState): void {
    const previous = this.state;
    if (this.#cell.set(state)) this.#host.changed(state, previous);
  }
}
