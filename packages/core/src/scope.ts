/**
 * A lifetime as a value, in the spirit of Effect's `Scope`: what is acquired registers how to
 * release it (`addCleanup`), and `close()` releases everything, last acquired first. Each cleanup
 * is bounded by `cleanupTimeout` (or by its own, longer `timeout`: a process that needs 3 s to
 * stop is waited for 3 s even in a scope with a 1 s bound), so one stuck resource cannot hang a
 * shutdown; a cleanup that fails or times out is reported and the rest still run. Child scopes
 * (`fork()`) close with their parent, at the place in the order where they were forked.
 *
 * ```ts
 * await using scope = new Scope("request");
 * const proc = new ManagedProcess("helper").attach(scope);
 * scope.addCleanup(() => socket.close(), "socket");
 * // leaving the block closes the socket, then stops the process
 * ```
 */

import { z } from "zod";
import { type Duration, formatDuration } from "./duration.ts";
import { messageOf } from "./message.ts";
import { checkName, durationSchema, OptionsError, parseOptions } from "./options.ts";
import { settlesWithin } from "./timing.ts";

export type ScopeState = "open" | "closing" | "closed";

/** A cleanup that threw, rejected or did not finish within `cleanupTimeout`. */
export class CleanupError extends Error {
  override readonly name = "CleanupError";
  constructor(
    /** The label given to `addCleanup`. */
    readonly label: string,
    /** `"failed"`: it threw or rejected (see `cause`); `"timeout"`: it was still running. */
    readonly reason: "failed" | "timeout",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ScopeOptions {
  /** Longest wait for each cleanup during `close()` before moving on (default `"10s"`). */
  cleanupTimeout?: Duration;
  /** Receives each cleanup that failed or timed out (default: `console.error`). */
  onError?: (error: CleanupError) => void;
  /**
   * Hears of each cleanup (or `fork()`) added after the scope closed, which runs at once: late
   * work its owner may want to report (default: none). Forks inherit it; `scope` says which one.
   */
  onLate?: (label: string, scope: Scope) => void;
}

/** Options of one cleanup (`addCleanup(fn, label, options)`). */
export interface CleanupOptions {
  /**
   * How long this cleanup may take. The scope waits the larger of this and its `cleanupTimeout`,
   * so an owner's bound always covers what it owns (a process passes its `terminateTimeout` plus
   * `killTimeout`). `Infinity` waits without a bound: only for a cleanup that is bounded step by
   * step itself, like a child service's stop or a forked scope's close.
   */
  timeout?: Duration;
}

/**
 * Anything that can own a cleanup: a `Scope`, a `Service`, or your own owner. `options` is
 * optional to honour: an owner that ignores it bounds the cleanup its own way.
 */
export interface CleanupOwner {
  addCleanup(fn: () => unknown, label?: string, options?: CleanupOptions): unknown;
}

interface Entry {
  label: string;
  fn: () => unknown;
  /** Its own bound in ms (0: none beyond `cleanupTimeout`; a child scope's close: Infinity). */
  timeout: number;
}

const optionsSchema = z.strictObject({
  cleanupTimeout: durationSchema({ positive: true }).default(10_000),
  onError: z
    .custom<(error: CleanupError) => void>((v) => typeof v === "function", {
      message: "a function (error: CleanupError) => void",
    })
    .optional(),
  onLate: z
    .custom<(label: string, scope: Scope) => void>((v) => typeof v === "function", {
      message: "a function (label: string, scope: Scope) => void",
    })
    .optional(),
});

const cleanupOptionsSchema = z.strictObject({
  timeout: durationSchema({ positive: true }).optional(),
});

/** The own bound of a cleanup in ms (0: none), from its options. */
function timeoutOf(options: CleanupOptions | undefined, context: string): number {
  if (options === undefined) return 0;
  // Infinity is no duration (a timer cannot wait forever); it is checked here, not by the schema.
  const unbounded = options?.timeout === Number.POSITIVE_INFINITY;
  const o = parseOptions(
    cleanupOptionsSchema,
    unbounded ? { ...options, timeout: undefined } : options,
    context,
  );
  return unbounded ? Number.POSITIVE_INFINITY : (o.timeout ?? 0);
}

/** Whether `value` has an `addCleanup(fn)` method, i.e. can own a cleanup. */
export function isCleanupOwner(value: unknown): value is CleanupOwner {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { addCleanup?: unknown }).addCleanup === "function"
  );
}

export class Scope {
  readonly name: string;
  readonly #cleanupTimeout: number;
  readonly #onError: (error: CleanupError) => void;
  readonly #onLate: ((label: string, scope: Scope) => void) | undefined;
  #entries = new Map<number, Entry>();
  #next = 1;
  #state: ScopeState = "open";
  #closing: Promise<void> | undefined;
  /** Set by the parent of a forked scope: drops this scope from it once it has closed. */
  #detach: (() => void) | undefined;

  /** @throws {OptionsError} for a bad option. */
  constructor(name = "scope", options: ScopeOptions = {}) {
    checkName(name, "Scope");
    const o = parseOptions(optionsSchema, options, `Scope "${name}"`);
    this.name = name;
    this.#cleanupTimeout = o.cleanupTimeout;
    this.#onError =
      o.onError ?? ((error) => console.error(`[specter] scope "${name}": ${error.message}`));
    this.#onLate = o.onLate;
  }

  get state(): ScopeState {
    return this.#state;
  }

  /** Cleanups waiting to run (a child scope counts as one). */
  get size(): number {
    return this.#entries.size;
  }

  /** Longest wait for each cleanup, in milliseconds. */
  get cleanupTimeout(): number {
    return this.#cleanupTimeout;
  }

  /**
   * Runs `fn` when the scope closes, after everything added later, waiting for it up to the larger
   * of `cleanupTimeout` and `options.timeout`. Returns a function that removes it without running
   * it. Added to a scope that is closing, it runs in this close; added to one that is closed, it
   * runs at once (nothing may outlive its owner) and `onLate` hears of it.
   *
   * @throws {OptionsError} when `fn` is not a function or `options.timeout` is not a duration.
   */
  addCleanup(fn: () => unknown, label = "cleanup", options?: CleanupOptions): () => void {
    const context = `Scope "${this.name}".addCleanup()`;
    if (typeof fn !== "function") {
      throw new OptionsError(context, [{ option: "fn", value: fn, expected: "a function" }]);
    }
    return this.#add({ label, fn, timeout: timeoutOf(options, context) });
  }

  #add(entry: Entry): () => void {
    if (this.#state === "closed") {
      void this.#release(entry);
      this.#hearLate(entry.label);
      return () => {};
    }
    const id = this.#next++;
    this.#entries.set(id, entry);
    return () => {
      this.#entries.delete(id);
    };
  }

  /**
   * A child scope that closes when this one does (at its place in the order), or earlier on its
   * own. It inherits `cleanupTimeout`, `onError` and `onLate` unless given others.
   */
  fork(name = `${this.name}/child`, options: ScopeOptions = {}): Scope {
    const child = new Scope(name, {
      cleanupTimeout: this.#cleanupTimeout,
      onError: this.#onError,
      onLate: this.#onLate,
      ...options,
    });
    child.#detach = this.#add({
      label: `scope "${name}"`,
      fn: () => child.close(),
      timeout: Number.POSITIVE_INFINITY,
    });
    return child;
  }

  /**
   * Runs every cleanup, last added first, each bounded by `cleanupTimeout`; cleanups added while
   * it runs run too. Never rejects: failures go to `onError`. Idempotent: every call shares one
   * promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#state = "closing";
    while (this.#entries.size > 0) {
      const entries = [...this.#entries.values()].reverse();
      this.#entries.clear();
      for (const entry of entries) await this.#release(entry);
    }
    this.#state = "closed";
    this.#detach?.();
    this.#detach = undefined;
  }

  async #release(entry: Entry): Promise<void> {
    const own = entry.timeout > this.#cleanupTimeout;
    const timeout = own ? entry.timeout : this.#cleanupTimeout;
    const report = (error: CleanupError) => this.#report(error);
    const error = await runBounded(entry.fn, timeout, entry.label, {
      bound: own ? "its timeout" : "cleanupTimeout",
      onLateFailure: report,
    });
    if (error) report(error);
  }

  #hearLate(label: string): void {
    try {
      this.#onLate?.(label, this);
    } catch (thrown) {
      // The late cleanup already runs; a throwing listener must not make addCleanup() throw.
      console.error(`[specter] scope "${this.name}": onLate threw for "${label}":`, thrown);
    }
  }

  #report(error: CleanupError): void {
    try {
      this.#onError(error);
    } catch (thrown) {
      // The rest of the cleanups must still run, and close() must not reject.
      console.error(
        `[specter] scope "${this.name}": onError threw while reporting "${error.message}":`,
        thrown,
      );
    }
  }
}

/** How `runBounded` names its bound, and who hears of a failure after it moved on. */
export interface RunBoundedOptions {
  /** Named in the timeout message (default `"cleanupTimeout"`). */
  bound?: string;
  /**
   * Called when a cleanup it gave up on fails later (e.g. a process that then survives SIGKILL):
   * the work is not cancelled by the timeout, it keeps running, and its end is still news.
   */
  onLateFailure?: (error: CleanupError) => void;
}

/**
 * Runs `fn` and waits at most `timeout` ms for it; resolves with what went wrong (it threw, it
 * rejected, it was still running), or `undefined`. Never rejects.
 */
export async function runBounded(
  fn: () => unknown,
  timeout: number,
  label: string,
  options: RunBoundedOptions = {},
): Promise<CleanupError | undefined> {
  const run = Promise.resolve().then(fn);
  // A timer cannot wait forever (an infinite delay fires at once): unbounded means no timer.
  if (Number.isFinite(timeout) && !(await settlesWithin(run, timeout))) {
    const { bound = "cleanupTimeout", onLateFailure } = options;
    run.catch((error) => {
      const late = failed(
        label,
        error,
        ` after it was abandoned (${bound} ${formatDuration(timeout)})`,
      );
      onLateFailure?.(late);
    });
    return new CleanupError(
      label,
      "timeout",
      `${label} did not finish within ${formatDuration(timeout)} (${bound}); moved on`,
    );
  }
  try {
    await run;
    return undefined;
  } catch (error) {
    return failed(label, error, "");
  }
}

function failed(label: string, error: unknown, when: string): CleanupError {
  return new CleanupError(label, "failed", `${label} failed${when}: ${messageOf(error)}`, {
    cause: error,
  });
}
