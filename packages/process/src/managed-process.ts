import type { LineInfo } from "@specter/core";
import {
  type Duration,
  durationSchema,
  groupUsage,
  isCleanupOwner,
  OptionsError,
  parseOptions,
  settlesWithin,
} from "@specter/core";
import type { FileSink } from "bun";
import { z } from "zod";
import { ProcessContext } from "./context.ts";
import { ProcessStateError, WaitTimeoutError } from "./errors.ts";
import { resolveProcessOptions, resolveStartOptions, resolveWatchOptions } from "./options.ts";
import { neverStarted } from "./readiness.ts";
import { SIGNAL_NUMBERS } from "./run.ts";
import { Supervisor } from "./supervisor.ts";
import type {
  ChunkCallback,
  CleanupOwner,
  LineCallback,
  ProcessEvents,
  ProcessExit,
  ProcessHealth,
  ProcessOptions,
  ProcessReady,
  ProcessState,
  StartOptions,
  StreamName,
  WatchChunksOptions,
  WatchLinesOptions,
} from "./types.ts";

const waitSchema = z.object({ timeout: durationSchema({ positive: true }) });

/**
 * A supervised subprocess on `Bun.spawn`: its output split into lines for watchers, a graceful
 * stop that takes the whole process tree down, optional restarts with backoff, and host shutdown.
 *
 * ```ts
 * const proc = new ManagedProcess("tunnel", { terminateTimeout: "5s", killTimeout: "1s" });
 * proc.start(["cloudflared", "tunnel", "--url", "http://127.0.0.1:5000"], { stdout: "pipe" });
 * proc.watchStream("stdout", (line) => console.log(line));
 * const exit = await proc.stop(); // SIGTERM to the group, wait, SIGKILL
 * ```
 */
export class ManagedProcess {
  readonly name: string;
  readonly #ctx: ProcessContext;
  readonly #supervisor: Supervisor;

  /** @throws {OptionsError} for a bad name or option; nothing is started. */
  constructor(name: string, options: ProcessOptions = {}) {
    const config = resolveProcessOptions(name, options);
    this.name = name;
    this.#ctx = new ProcessContext(name, config);
    this.#supervisor = new Supervisor(this.#ctx);
  }

  // ---- state ------------------------------------------------------------------------------

  get state(): ProcessState {
    return this.#supervisor.state;
  }

  /**
   * Whether a run is in progress: from spawn until the run is finished, i.e. its child has exited,
   * the rest of its process group is gone and its output is read to the end. So it stays `true`
   * (with `pid` set and `lastExit` still the previous run's) while a child that exited is having
   * its leftover group terminated; the "exit" event marks the end.
   */
  get running(): boolean {
    return this.#supervisor.run !== undefined;
  }

  /** The current run's pid (also its process group id) while `running`, else `null`. */
  get pid(): number | null {
    return this.#supervisor.run?.pid ?? null;
  }

  /** Exit code of the last run while no child is alive; `null` while one is, or after a signal. */
  get exitCode(): number | null {
    return this.running ? null : (this.#supervisor.lastExit?.exitCode ?? null);
  }

  /** Signal that ended the last run while no child is alive, else `null`. */
  get signalCode(): NodeJS.Signals | null {
    return this.running ? null : (this.#supervisor.lastExit?.signalCode ?? null);
  }

  /** Milliseconds since the current run's child was spawned while `running`, else 0. */
  get uptime(): number {
    const run = this.#supervisor.run;
    return run !== undefined ? Math.round(performance.now() - run.startedAt) : 0;
  }

  /**
   * The argv of the last `start()` (program first), or `null` before any. It may hold secrets:
   * mask it before showing it (health() leaves it out on purpose).
   */
  get argv(): readonly string[] | null {
    return this.#supervisor.config ? this.#supervisor.argv : null;
  }

  /** How the last run ended, or `null`. */
  get lastExit(): ProcessExit | null {
    return this.#supervisor.lastExit;
  }

  /** The child's stdin when started with `stdin: "pipe"` (and no `input`), else `null`. */
  get stdin(): FileSink | null {
    return this.#supervisor.run?.stdin ?? null;
  }

  /**
   * Resolves when the current run is ready: at the first output line the `ready` option accepts
   * (state "starting" until then, "running" after), or at spawn without one. Rejects with a
   * `ReadyError` when the run ends first, or when `readyTimeout` passes (the run is then stopped).
   * Each run has its own: after a restart (and while waiting for one) this is the next run's.
   * Never awaited, a rejection goes unreported here (the run's exit tells it).
   */
  get ready(): Promise<ProcessReady> {
    return this.#supervisor.ready ?? neverStarted(this.#ctx.label);
  }

  /**
   * Like Python's `Popen.poll()`: `null` while the process runs (or waits to restart), else the
   * last exit code, or minus the signal number when a signal ended it. `null` before any start.
   */
  poll(): number | null {
    const state = this.state;
    if (this.running || state === "restarting" || state === "stopping") return null;
    const exit = this.#supervisor.lastExit;
    if (!exit) return null;
    if (exit.exitCode !== null) return exit.exitCode;
    const signal = exit.signalCode ? (SIGNAL_NUMBERS[exit.signalCode] ?? 0) : 0;
    return -signal;
  }

  health(): ProcessHealth {
    // The child leads its own process group, so its pid is the group id.
    const pid = this.pid;
    return {
      name: this.name,
      pid,
      state: this.state,
      restarts: this.#supervisor.restarts,
      lastExit: this.#supervisor.lastExit,
      uptime: this.uptime,
      callbackErrors: this.#ctx.reporter.callbackErrors,
      lastError: this.#ctx.reporter.last,
      nextRestartIn: this.#supervisor.nextRestartIn,
      streams: { stdout: this.#ctx.taps.stdout.stats(), stderr: this.#ctx.taps.stderr.stats() },
      usage: pid === null ? null : (groupUsage(pid) ?? null),
    };
  }

  // ---- events -----------------------------------------------------------------------------

  /**
   * Calls `fn` on `event`: `"spawn"`, `"exit"`, `"restart"`, `"giveUp"`, `"error"` or `"state"`.
   * Returns a function that unsubscribes. A listener that throws is reported, never fatal.
   * Without an `"error"` listener, errors are written to `console.error`.
   */
  on<E extends keyof ProcessEvents>(
    event: E,
    fn: (...args: ProcessEvents[E]) => unknown,
  ): () => void {
    return this.#ctx.events.on(event, fn);
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /**
   * Spawns `argv` (program first; never through a shell) in its own process group and returns
   * this process.
   *
   * @throws {OptionsError} bad argv or options, or a stream the process reads (watched, or for
   * `ready`) that is not piped.
   * @throws {AbortError} `signal` is already aborted.
   * @throws {ProcessStateError} it is already starting, running, restarting or stopping.
   * @throws {SpawnError} the program cannot be started (missing, not executable, bad cwd).
   */
  start(argv: string[], options?: StartOptions): this {
    if (this.#supervisor.active()) {
      const pid = this.pid;
      throw new ProcessStateError(
        `${this.#ctx.label} is already ${this.state}${pid === null ? "" : ` (pid ${pid})`}; ` +
          "await stop() before starting it again",
      );
    }
    const { label, taps } = this.#ctx;
    const config = resolveStartOptions(argv, options, {
      label,
      ready: this.#ctx.config.ready !== undefined,
      watchers: (stream) => taps[stream].watchers,
    });
    this.#supervisor.start(config);
    return this;
  }

  /**
   * Stops the process and its whole group: SIGTERM, up to `terminateTimeout` for all of them to
   * exit, then SIGKILL and up to `killTimeout`. Cancels a pending restart. Resolves with how the
   * last run ended once the streams are read to their end (`null` if it never ran). Idempotent;
   * concurrent calls share one promise.
   *
   * @throws {StopTimeoutError} (rejects) a process survived SIGKILL for `killTimeout` (stuck in
   * the kernel, state D); it is still signalled and reaped when it does exit.
   */
  stop(): Promise<ProcessExit | null> {
    return this.#supervisor.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /**
   * Resolves with the final exit once the process is done — stopped, exited for good, or given up
   * — so with `restart: "always"` only after `stop()`. With `timeout`, rejects with a
   * `WaitTimeoutError` when that passes first (the process is left alone).
   *
   * @throws {ProcessStateError} (rejects) it was never started.
   */
  async wait(timeout?: Duration): Promise<ProcessExit | null> {
    const ms =
      timeout === undefined
        ? undefined
        : parseOptions(waitSchema, { timeout }, `${this.#ctx.label}: wait()`).timeout;
    const done = this.#supervisor.done;
    if (!done) {
      throw new ProcessStateError(`${this.#ctx.label} was never started; call start() first`);
    }
    if (ms === undefined) return done;
    if (await settlesWithin(done, ms)) return done;
    throw new WaitTimeoutError(
      `${this.#ctx.label} is still ${this.state} after ${ms}ms; stop() it or wait longer`,
    );
  }

  /**
   * Stops this process when `owner` stops: calls `owner.addCleanup(() => this.stop(), label,
   * { timeout })`, where `timeout` is the longest a stop can take (`terminateTimeout`, then
   * `killTimeout` for SIGKILL and again for the output, plus 500 ms), so an owner with a shorter
   * `cleanupTimeout` still waits until the process is gone. The owner is a `Scope` (from
   * `@specter/core`), a `Service`, or anything with `addCleanup(fn)`.
   *
   * @throws {OptionsError} (a TypeError) when `owner` has no `addCleanup(fn)` method.
   */
  attach(owner: CleanupOwner): this {
    if (!isCleanupOwner(owner)) {
      throw new OptionsError(`${this.#ctx.label}: attach()`, [
        {
          option: "owner",
          value: owner,
          expected:
            "an owner with an addCleanup(fn) method (a Scope, a Service, or anything that stops what it owns)",
        },
      ]);
    }
    const { terminateTimeout, killTimeout } = this.#ctx.config;
    // The margin covers the /proc scans between the steps; measured at under 50 ms.
    const timeout = terminateTimeout + 2 * killTimeout + 500;
    owner.addCleanup(() => this.stop(), this.#ctx.label, { timeout });
    return this;
  }

  // ---- streams ----------------------------------------------------------------------------

  /**
   * Calls `callback(line, info)` once per line of `"stdout"` or `"stderr"`, without the line
   * ending ("\n" or "\r\n"); a last line without one is delivered when the stream ends. A line
   * longer than `maxLineLength` comes in pieces (`info.continued` on all but the last) or cut
   * (`overflow: "truncate"`, `info.truncated` counts the cut characters). With
   * `{ mode: "chunks" }`, `callback(chunk)` gets the raw bytes instead. Watchers stay attached
   * across restarts; a callback that throws is reported and the others still get every line.
   * Returns a function that stops this watcher.
   *
   * May be called before `start()`; `start()` then requires that stream to be piped. A piped
   * stream is always read (and counted in `health()`), watched or not, so output nobody watches
   * is dropped rather than buffered: a watcher added while output flows starts with the next
   * chunk (mid-line, unless another line watcher with the same `maxLineLength` and `overflow` is
   * already there). One added right after `start()`, in the same tick, gets everything.
   *
   * @throws {OptionsError} bad stream name, callback or option.
   * @throws {ProcessStateError} the running process was started without `{ [stream]: "pipe" }`.
   */
  watchStream(
    stream: StreamName,
    callback: (line: string, info: LineInfo) => unknown,
    options?: WatchLinesOptions,
  ): () => void;
  watchStream(
    stream: StreamName,
    callback: (chunk: Uint8Array) => unknown,
    options: WatchChunksOptions,
  ): () => void;
  watchStream(
    stream: StreamName,
    callback: LineCallback | ChunkCallback,
    options?: WatchLinesOptions | WatchChunksOptions,
  ): () => void {
    const resolved = resolveWatchOptions(stream, callback, options, this.#ctx.label);
    const name = resolved.stream;
    const config = this.#supervisor.config;
    if (this.#supervisor.active() && config && config[name] !== "pipe") {
      throw new ProcessStateError(
        `${this.#ctx.label}: cannot watch ${name}: it was started with ${name}: "${config[name]}"; ` +
          `start it with { ${name}: "pipe" } to watch it`,
      );
    }
    // Nothing to start reading: every piped stream is read from spawn on (see Run).
    return this.#ctx.taps[name].watch(resolved.config, callback);
  }
}
