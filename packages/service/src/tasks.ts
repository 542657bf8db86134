/**
 * Timers and async tasks that stop with their service: each registers its cancel as a cleanup of
 * the service's scope, so a stop (or a failed start) ends it, and removes that cleanup when it
 * ends first. Errors are reported, never thrown into the void.
 */
import {
  type Duration,
  durationSchema,
  messageOf,
  OptionsError,
  parseOptions,
} from "@specter/core";
import { z } from "zod";
import type { ServiceErrorPhase, ServiceState, TaskCounts } from "./health.ts";

/** A timer or task a service runs; cancelled when the service stops, or earlier by hand. */
export interface TaskHandle {
  /** Stops it now. Idempotent. */
  cancel(): void;
  /** False once cancelled, finished (timeouts and spawned tasks) or stopped with the service. */
  readonly active: boolean;
}

/** A task started with `spawn`: `done` settles with its result (or `undefined` if it failed). */
export interface SpawnHandle<T> extends TaskHandle {
  readonly signal: AbortSignal;
  readonly done: Promise<T | undefined>;
}

/** What the tasks need from their service. */
export interface TaskHost {
  readonly name: string;
  readonly state: ServiceState;
  addCleanup(fn: () => unknown, label: string): () => void;
  report(phase: ServiceErrorPhase, message: string, cause?: unknown): void;
}

export class Tasks {
  readonly #counts: TaskCounts = { intervals: 0, timeouts: 0, spawned: 0 };

  constructor(private readonly host: TaskHost) {}

  /** How many of each run now. */
  get counts(): TaskCounts {
    return { ...this.#counts };
  }

  interval(fn: (signal: AbortSignal) => unknown, every: Duration): TaskHandle {
    const ms = this.#check("interval", fn, every, "every");
    const controller = new AbortController();
    let running: Promise<unknown> | undefined;
    const timer = setInterval(() => {
      if (running) return; // a run still going is not overlapped
      running = this.#run("interval", () => fn(controller.signal), controller.signal).finally(
        () => {
          running = undefined;
        },
      );
    }, ms);
    this.#counts.intervals++;
    return this.#handle("interval", controller, () => {
      clearInterval(timer);
      this.#counts.intervals--;
      return running;
    }).handle;
  }

  timeout(fn: (signal: AbortSignal) => unknown, after: Duration): TaskHandle {
    const ms = this.#check("timeout", fn, after, "after");
    const controller = new AbortController();
    let running: Promise<unknown> | undefined;
    let pending = true;
    this.#counts.timeouts++;
    const finish = () => {
      if (pending) this.#counts.timeouts--;
      pending = false;
    };
    const timer = setTimeout(() => {
      running = this.#run("timeout", () => fn(controller.signal), controller.signal).finally(() => {
        finish();
        handle.cancel(); // fired: nothing left for the stop to do
      });
    }, ms);
    const { handle } = this.#handle("timeout", controller, () => {
      clearTimeout(timer);
      finish();
      return running;
    });
    return handle;
  }

  spawn<R>(fn: (signal: AbortSignal) => R | Promise<R>): SpawnHandle<R> {
    this.#check("spawn", fn, 1, "after");
    const controller = new AbortController();
    this.#counts.spawned++;
    const done = this.#run("task", () => fn(controller.signal), controller.signal) as Promise<
      R | undefined
    >;
    const { handle, forget } = this.#handle("task", controller, () => done);
    done.finally(() => {
      this.#counts.spawned--;
      forget();
    });
    return Object.defineProperties(handle, {
      done: { value: done, enumerable: true },
      signal: { value: controller.signal, enumerable: true },
    }) as SpawnHandle<R>;
  }

  /** Validates the arguments; returns the duration in milliseconds. */
  #check(what: string, fn: unknown, duration: Duration, option: string): number {
    const context = `Service "${this.host.name}".${what}()`;
    if (typeof fn !== "function")
      throw new OptionsError(context, [{ option: "fn", value: fn, expected: "a function" }]);
    const state = this.host.state;
    if (state !== "starting" && state !== "running") {
      throw new Error(
        `${context}: the service is ${state}; schedule work from onStart() or while it runs`,
      );
    }
    return parseOptions(
      z.object({ [option]: durationSchema({ positive: true }) }),
      { [option]: duration },
      context,
    )[option] as number;
  }

  /** Runs one go of a task; its error is reported unless the task was cancelled (its abort). */
  async #run(label: string, fn: () => unknown, signal: AbortSignal): Promise<unknown> {
    try {
      return await fn();
    } catch (error) {
      if (!signal.aborted) this.host.report("task", `${label} failed: ${messageOf(error)}`, error);
      return undefined;
    }
  }

  /**
   * The handle of a task whose cancel is a cleanup of the service. `forget` marks it inactive and
   * drops the cleanup without cancelling (a spawned task that ended by itself).
   */
  #handle(
    label: string,
    controller: AbortController,
    stopTimer: () => unknown,
  ): { handle: TaskHandle; forget: () => void } {
    let active = true;
    const cancel = () => {
      if (!active) return undefined;
      active = false;
      remove();
      controller.abort(new Error(`${label} cancelled`));
      return stopTimer();
    };
    const remove = this.host.addCleanup(cancel, label);
    const handle: TaskHandle = {
      cancel: () => {
        cancel();
      },
      get active() {
        return active;
      },
    };
    const forget = () => {
      active = false;
      remove();
    };
    return { handle, forget };
  }
}
