import { constants } from "node:os";
import type { LineInfo } from "@specter/core";
import {
  type Duration,
  durationSchema,
  Listeners,
  messageOf,
  OptionsError,
  parseOptions,
  settlesWithin,
} from "@specter/core";
import type { FileSink } from "bun";
import { z } from "zod";
import { ProcessError, ProcessStateError, StopTimeoutError, WaitTimeoutError } from "./errors.ts";
import { registerLive, type ShutdownTarget, unregisterLive } from "./exit-hooks.ts";
import {
  type ProcessConfig,
  resolveProcessOptions,
  resolveStartOptions,
  resolveWatchOptions,
  type StartConfig,
} from "./options.ts";
import { OrphanGuard } from "./orphan-guard.ts";
import { RestartTracker } from "./restart.ts";
import { type Child, spawnChild } from "./spawn.ts";
import { StreamTap } from "./stream-tap.ts";
import { groupAlive, killGroupNow, type TerminateResult, terminateGroup } from "./terminate.ts";
import type {
  ChunkCallback,
  CleanupOwner,
  LineCallback,
  ProcessEvents,
  ProcessExit,
  ProcessHealth,
  ProcessOptions,
  ProcessState,
  StartOptions,
  StreamName,
  WatchChunksOptions,
  WatchLinesOptions,
} from "./types.ts";

const EVENTS = ["spawn", "exit", "restart", "giveUp", "error", "state"] as const;
const SIGNAL_NUMBERS = constants.signals as Record<string, number>;
const waitSchema = z.object({ timeout: durationSchema({ positive: true }) });
const onSchema = z.object({
  event: z.enum(EVENTS),
  listener: z.custom((v) => typeof v === "function", { message: "a function" }),
});
const STREAMS: readonly StreamName[] = ["stdout", "stderr"];

/** One child process: everything that belongs to one spawn. */
interface Run {
  child: Child;
  pid: number;
  startedAt: number;
  /** Set once the child has been reaped (its group may live on). */
  exit:
    | { exitCode: number | null; signalCode: NodeJS.Signals | null; at: number; ranFor: number }
    | undefined;
  leaderExited: Promise<void>;
  /** `stop()` (or host shutdown) asked this run to end. */
  stopRequested: boolean;
  /** The SIGTERM/SIGKILL sequence, once started (shared by `stop()` and the exit path). */
  termination: Promise<TerminateResult> | undefined;
  pumps: Map<StreamName, Promise<void>>;
  readers: ReadableStreamDefaultReader<Uint8Array>[];
  /** Reading was cancelled on purpose: a read error after that is not news. */
  cancelled: boolean;
  /** Kills the group if the host dies without running its hooks (with `hostShutdown`). */
  guard: OrphanGuard | undefined;
}

type EventListeners = { [E in keyof ProcessEvents]: Listeners<ProcessEvents[E]> };

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
  readonly #config: ProcessConfig;
  readonly #context: string;
  readonly #restart: RestartTracker;
  readonly #taps: Record<StreamName, StreamTap>;
  readonly #events: EventListeners;
  readonly #target: ShutdownTarget;
  #state: ProcessState = "idle";
  #startConfig: StartConfig | undefined;
  #argv: readonly string[] = [];
  #run: Run | undefined;
  #lastExit: ProcessExit | null = null;
  /** Settles with the final exit once the process is done (stopped, exited or failed). */
  #supervisor: Promise<ProcessExit | null> | undefined;
  #stopRequested = false;
  /** The state before the one a finished run led to, until its "state" event is emitted. */
  #pendingState: ProcessState | undefined;
  #stopping: Promise<ProcessExit | null> | undefined;
  #wake: (() => void) | undefined;
  #restartAt: number | undefined;
  #callbackErrors = 0;
  #lastError: ProcessHealth["lastError"] = null;

  /** @throws {OptionsError} for a bad name or option; nothing is started. */
  constructor(name: string, options: ProcessOptions = {}) {
    this.#config = resolveProcessOptions(name, options);
    this.name = name;
    this.#context = `ManagedProcess "${name}"`;
    this.#restart = new RestartTracker(this.#config.restart);
    const tapError = (stream: StreamName) => (error: unknown) => {
      this.#callbackErrors++;
      this.#report(
        new ProcessError(name, "callback", `a ${stream} watcher threw: ${messageOf(error)}`, {
          cause: error,
        }),
      );
    };
    this.#taps = {
      stdout: new StreamTap(tapError("stdout")),
      stderr: new StreamTap(tapError("stderr")),
    };
    const listenerError = (event: string) => (error: unknown) => {
      this.#callbackErrors++;
      const reported = new ProcessError(
        name,
        "callback",
        `a "${event}" listener threw: ${messageOf(error)}`,
        { cause: error },
      );
      if (event === "error") console.error(`[specter] ${reported.message}`);
      else this.#report(reported);
    };
    this.#events = Object.fromEntries(
      EVENTS.map((event) => [event, new Listeners(listenerError(event))]),
    ) as unknown as EventListeners;
    this.#target = {
      shutdown: () => this.stop(),
      killNow: () => this.#killNow(),
    };
  }

  // ---- state ------------------------------------------------------------------------------

  get state(): ProcessState {
    return this.#state;
  }

  /**
   * Whether a run is in progress: from spawn until the run is finished, i.e. its child has exited,
   * the rest of its process group is gone and its output is read to the end. So it stays `true`
   * (with `pid` set and `lastExit` still the previous run's) while a child that exited is having
   * its leftover group terminated; the "exit" event marks the end.
   */
  get running(): boolean {
    return this.#run !== undefined;
  }

  /** The current run's pid (also its process group id) while `running`, else `null`. */
  get pid(): number | null {
    return this.#run?.pid ?? null;
  }

  /** Exit code of the last run while no child is alive; `null` while one is, or after a signal. */
  get exitCode(): number | null {
    return this.running ? null : (this.#lastExit?.exitCode ?? null);
  }

  /** Signal that ended the last run while no child is alive, else `null`. */
  get signalCode(): NodeJS.Signals | null {
    return this.running ? null : (this.#lastExit?.signalCode ?? null);
  }

  /** Milliseconds since the current run's child was spawned while `running`, else 0. */
  get uptime(): number {
    const run = this.#run;
    return run !== undefined ? Math.round(performance.now() - run.startedAt) : 0;
  }

  /**
   * The argv of the last `start()` (program first), or `null` before any. It may hold secrets:
   * mask it before showing it (health() leaves it out on purpose).
   */
  get argv(): readonly string[] | null {
    return this.#startConfig ? this.#argv : null;
  }

  /** How the last run ended, or `null`. */
  get lastExit(): ProcessExit | null {
    return this.#lastExit;
  }

  /** The child's stdin when started with `stdin: "pipe"`, else `null`. */
  get stdin(): FileSink | null {
    const run = this.#run;
    const stdin = run !== undefined && run.exit === undefined ? run.child.stdin : undefined;
    return typeof stdin === "object" && stdin !== null ? stdin : null;
  }

  /**
   * Like Python's `Popen.poll()`: `null` while the process runs (or waits to restart), else the
   * last exit code, or minus the signal number when a signal ended it. `null` before any start.
   */
  poll(): number | null {
    if (this.#run !== undefined || this.#state === "restarting" || this.#state === "stopping") {
      return null;
    }
    const exit = this.#lastExit;
    if (!exit) return null;
    if (exit.exitCode !== null) return exit.exitCode;
    const signal = exit.signalCode ? (SIGNAL_NUMBERS[exit.signalCode] ?? 0) : 0;
    return -signal;
  }

  health(): ProcessHealth {
    return {
      name: this.name,
      pid: this.pid,
      state: this.#state,
      restarts: this.#restart.total,
      lastExit: this.#lastExit,
      uptime: this.uptime,
      callbackErrors: this.#callbackErrors,
      lastError: this.#lastError,
      nextRestartIn:
        this.#restartAt === undefined
          ? null
          : Math.max(0, Math.round(this.#restartAt - performance.now())),
      streams: { stdout: this.#taps.stdout.stats(), stderr: this.#taps.stderr.stats() },
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
    parseOptions(onSchema, { event, listener: fn }, `${this.#context}: on()`);
    return (this.#events[event] as Listeners<ProcessEvents[E]>).add(fn);
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /**
   * Spawns `argv` (program first; never through a shell) in its own process group and returns
   * this process.
   *
   * @throws {OptionsError} bad argv or options.
   * @throws {ProcessStateError} it is already running, restarting or stopping.
   * @throws {SpawnError} the program cannot be started (missing, not executable, bad cwd).
   */
  start(argv: string[], options?: StartOptions): this {
    if (this.#state === "running" || this.#state === "restarting" || this.#state === "stopping") {
      const pid = this.pid;
      throw new ProcessStateError(
        `${this.#context} is already ${this.#state}${pid === null ? "" : ` (pid ${pid})`}; ` +
          "await stop() before starting it again",
      );
    }
    const config = resolveStartOptions(argv, options, this.#context);
    for (const stream of STREAMS) {
      if (config[stream] !== "pipe" && this.#taps[stream].watchers > 0) {
        throw new OptionsError(`${this.#context}: start()`, [
          {
            option: stream,
            value: config[stream],
            expected: `"pipe": watchStream("${stream}") has watchers, and only a pipe can be read`,
          },
        ]);
      }
    }
    const child = spawnChild(config, this.name);
    this.#startConfig = config;
    this.#argv = Object.freeze([...config.argv]);
    this.#stopRequested = false;
    this.#restart.reset();
    // The supervisor exists before "spawn"/"state" fire, so a listener may stop() at once.
    const { promise, resolve } = Promise.withResolvers<ProcessExit | null>();
    this.#supervisor = promise;
    const run = this.#adopt(child, config);
    this.#supervise(run, promise).then(resolve);
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
    if (this.#stopping) return this.#stopping;
    const supervisor = this.#supervisor;
    if (!supervisor || !this.#active()) return Promise.resolve(this.#lastExit);
    this.#stopping = this.#stop(supervisor).finally(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  /** Same as `stop()`; the name a lifecycle owner looks for. */
  teardown(): Promise<ProcessExit | null> {
    return this.stop();
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
        : parseOptions(waitSchema, { timeout }, `${this.#context}: wait()`).timeout;
    const supervisor = this.#supervisor;
    if (!supervisor) {
      throw new ProcessStateError(`${this.#context} was never started; call start() first`);
    }
    if (ms === undefined) return supervisor;
    if (await settlesWithin(supervisor, ms)) return supervisor;
    throw new WaitTimeoutError(
      `${this.#context} is still ${this.#state} after ${ms}ms; stop() it or wait longer`,
    );
  }

  /**
   * Stops this process when `owner` stops: calls `owner.addCleanup(() => this.stop())`.
   *
   * @throws {OptionsError} (a TypeError) when `owner` has no `addCleanup(fn)` method.
   */
  attach(owner: CleanupOwner): this {
    const hasCleanup =
      typeof owner === "object" &&
      owner !== null &&
      typeof (owner as { addCleanup?: unknown }).addCleanup === "function";
    if (!hasCleanup) {
      throw new OptionsError(`${this.#context}: attach()`, [
        {
          option: "owner",
          value: owner,
          expected:
            "an owner with an addCleanup(fn) method (a Service, or anything that stops what it owns)",
        },
      ]);
    }
    owner.addCleanup(() => this.stop());
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
    const resolved = resolveWatchOptions(stream, callback, options, this.#context);
    const name = resolved.stream;
    const config = this.#startConfig;
    if (this.#active() && config && config[name] !== "pipe") {
      throw new ProcessStateError(
        `${this.#context}: cannot watch ${name}: it was started with ${name}: "${config[name]}"; ` +
          `start it with { ${name}: "pipe" } to watch it`,
      );
    }
    const off = this.#taps[name].watch(resolved.config, callback);
    const run = this.#run;
    if (run && config?.[name] === "pipe") this.#pump(run, name);
    return off;
  }

  // ---- internals --------------------------------------------------------------------------

  #active(): boolean {
    const s = this.#state;
    return s === "running" || s === "restarting" || s === "stopping";
  }

  #adopt(child: Child, config: StartConfig): Run {
    const run: Run = {
      child,
      pid: child.pid,
      startedAt: performance.now(),
      exit: undefined,
      leaderExited: undefined as unknown as Promise<void>,
      stopRequested: false,
      termination: undefined,
      pumps: new Map(),
      readers: [],
      cancelled: false,
      guard: this.#config.hostShutdown
        ? new OrphanGuard(child.pid, this.#config.terminateTimeout)
        : undefined,
    };
    const reaped = () => {
      run.exit = {
        exitCode: child.exitCode,
        signalCode: signalName(child.signalCode),
        at: Date.now(),
        ranFor: Math.round(performance.now() - run.startedAt),
      };
    };
    run.leaderExited = child.exited.then(reaped, reaped);
    this.#run = run;
    if (this.#config.hostShutdown) registerLive(this.#target);
    // Every pipe is read, watched or not: an unread pipe is buffered by Bun without limit.
    for (const stream of STREAMS) if (config[stream] === "pipe") this.#pump(run, stream);
    this.#setState("running");
    this.#events.spawn.emit({ pid: run.pid, restarts: this.#restart.total });
    return run;
  }

  #pump(run: Run, stream: StreamName): void {
    if (run.pumps.has(stream)) return;
    const readable = run.child[stream];
    if (!(readable instanceof ReadableStream)) return;
    const reader = readable.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    run.readers.push(reader);
    const tap = this.#taps[stream];
    const pumping = (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          tap.push(value);
        }
      } catch (error) {
        if (!run.cancelled) {
          this.#report(
            new ProcessError(this.name, "stream", `reading ${stream} failed: ${messageOf(error)}`, {
              cause: error,
            }),
          );
        }
      } finally {
        if (!run.cancelled) tap.end(); // else #finishRun flushed it
        reader.releaseLock();
      }
    })();
    run.pumps.set(stream, pumping);
  }

  #terminate(run: Run): Promise<TerminateResult> {
    run.termination ??= terminateGroup(
      run.pid,
      { exited: run.leaderExited, gone: () => run.exit !== undefined },
      this.#config,
    );
    return run.termination;
  }

  /**
   * Runs until the process is done for good; never rejects. Host hooks cover it all along, so
   * a host shutdown also cancels a pending restart.
   */
  async #supervise(
    first: Run,
    supervisor: Promise<ProcessExit | null>,
  ): Promise<ProcessExit | null> {
    try {
      return await this.#superviseRuns(first);
    } catch (error) {
      // A bug of ours: report it rather than leave an unhandled rejection.
      this.#report(
        new ProcessError(this.name, "stop", `supervision failed: ${messageOf(error)}`, {
          cause: error,
        }),
      );
      this.#setState("failed");
      return this.#lastExit;
    } finally {
      // Last: during a host shutdown, the last process to go lets the host exit. A listener may
      // have started a new run meanwhile: the hooks are its now.
      if (this.#config.hostShutdown && this.#supervisor === supervisor) {
        unregisterLive(this.#target);
      }
    }
  }

  async #superviseRuns(first: Run): Promise<ProcessExit | null> {
    let run = first;
    for (;;) {
      const exit = await this.#finishRun(run);
      if (this.#stopRequested || exit.stopped) {
        this.#announceExit(exit, "stopped");
        return exit;
      }
      let decision = this.#restart.decide(exit.exitCode !== 0, exit.uptime);
      let announced = false;
      let next: Run | undefined;
      while (!next) {
        if (decision.action === "none") {
          if (announced) this.#setState("exited");
          else this.#announceExit(exit, "exited");
          return exit;
        }
        if (decision.action === "giveUp") {
          const info = { restarts: this.#restart.total, window: this.#config.restart.window, exit };
          if (announced) this.#setState("failed");
          else this.#announceExit(exit, "failed");
          this.#events.giveUp.emit(info);
          return exit;
        }
        if (announced) this.#setState("restarting");
        else this.#announceExit(exit, "restarting");
        announced = true;
        if (!this.#stopRequested) {
          this.#events.restart.emit({ restarts: this.#restart.total, delay: decision.delay, exit });
          await this.#sleep(decision.delay);
        }
        if (this.#stopRequested) {
          this.#setState("stopped");
          return exit;
        }
        try {
          next = this.#adopt(
            spawnChild(this.#startConfig as StartConfig, this.name),
            this.#startConfig as StartConfig,
          );
        } catch (error) {
          this.#report(
            error instanceof ProcessError
              ? error
              : new ProcessError(this.name, "spawn", `restart failed: ${messageOf(error)}`, {
                  cause: error,
                }),
          );
          decision = this.#restart.decide(true, 0);
        }
      }
      run = next;
    }
  }

  /**
   * A run ended: the state it leads to is taken before "exit" is emitted, so an "exit" listener
   * sees it (and may `start()` again once the process is done); the "state" event follows "exit"
   * (or comes first thing in that `start()`).
   */
  #announceExit(exit: ProcessExit, state: ProcessState): void {
    const previous = this.#state;
    if (previous !== state) {
      this.#state = state;
      this.#pendingState = previous;
    }
    this.#events.exit.emit(exit);
    this.#flushState();
  }

  #flushState(): void {
    const previous = this.#pendingState;
    if (previous === undefined) return;
    this.#pendingState = undefined;
    this.#events.state.emit(this.#state, previous);
  }

  /**
   * Waits for the child to exit, takes down what is left of its group, reads its streams to the
   * end (at most `killTimeout` more), and records the exit.
   */
  async #finishRun(run: Run): Promise<ProcessExit> {
    await run.leaderExited;
    let result: TerminateResult = "exited";
    if (run.termination || groupAlive(run.pid)) result = await this.#terminate(run);
    if (result === "stuck") {
      this.#report(
        new StopTimeoutError(
          this.name,
          `processes of group ${run.pid} survived SIGKILL for ${this.#config.killTimeout}ms (stuck in the kernel?)`,
        ),
      );
    }
    const pumps = [...run.pumps.values()];
    const drained =
      pumps.length === 0 || (await settlesWithin(Promise.all(pumps), this.#config.killTimeout));
    if (!drained) {
      this.#report(
        new ProcessError(
          this.name,
          "stream",
          `output was still open ${this.#config.killTimeout}ms after the process group ended: ` +
            "a process that left the group (setsid, daemon) holds it; reading stopped " +
            "(start such a process with its output redirected, e.g. to /dev/null)",
        ),
      );
    }
    run.cancelled = true;
    for (const reader of run.readers) reader.cancel().catch(() => {});
    // Flush partial lines now, not when the cancelled reads come back (a restart may be reading).
    if (!drained) for (const stream of run.pumps.keys()) this.#taps[stream].end();
    for (const stream of STREAMS) {
      const readable = run.child[stream];
      if (readable instanceof ReadableStream && !run.pumps.has(stream)) {
        readable.cancel().catch(() => {});
      }
    }
    const stdin = run.child.stdin;
    if (typeof stdin === "object" && stdin !== null) {
      try {
        stdin.end();
      } catch {
        // Already closed.
      }
    }
    if (result !== "stuck") await run.guard?.dispose();
    const status = run.exit as NonNullable<Run["exit"]>;
    const exit: ProcessExit = {
      pid: run.pid,
      exitCode: status.exitCode,
      signalCode: status.signalCode,
      stopped: run.stopRequested,
      killed: result === "killed",
      uptime: status.ranFor,
      at: status.at,
    };
    if (this.#run === run) this.#run = undefined;
    this.#lastExit = exit;
    return exit;
  }

  async #stop(supervisor: Promise<ProcessExit | null>): Promise<ProcessExit | null> {
    this.#stopRequested = true;
    this.#setState("stopping");
    this.#wake?.();
    const run = this.#run;
    if (run) {
      // A child that already exited by itself was not ended by stop(): its exit says so.
      if (run.exit === undefined) run.stopRequested = true;
      const result = await this.#terminate(run);
      if (result === "stuck") {
        throw new StopTimeoutError(
          this.name,
          `pid ${run.pid} or its group survived SIGKILL for ${this.#config.killTimeout}ms ` +
            "(stuck in the kernel, state D?); it is reaped when it finally exits",
        );
      }
    }
    return supervisor;
  }

  #killNow(): void {
    this.#stopRequested = true;
    this.#wake?.();
    const run = this.#run;
    if (run) {
      if (run.exit === undefined) run.stopRequested = true;
      killGroupNow(run.pid);
      run.guard?.killNow();
    }
  }

  /** The restart backoff; over at once when a stop is (or was already) requested. */
  #sleep(ms: number): Promise<void> {
    if (this.#stopRequested) return Promise.resolve();
    this.#restartAt = performance.now() + ms;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        this.#restartAt = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  #report(error: ProcessError): void {
    this.#lastError = { message: error.message, phase: error.phase, at: Date.now() };
    if (this.#events.error.size === 0) console.error(`[specter] ${error.message}`);
    else this.#events.error.emit(error);
  }

  #setState(state: ProcessState): void {
    this.#flushState();
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.#events.state.emit(state, previous);
  }
}

function signalName(signal: NodeJS.Signals | number | null): NodeJS.Signals | null {
  if (typeof signal !== "number") return signal;
  const found = Object.entries(SIGNAL_NUMBERS).find(([, n]) => n === signal)?.[0];
  return (found as NodeJS.Signals | undefined) ?? null;
}

/**
 * Creates a managed process, attaches it to `owner` (if given) and starts it: the seed's
 * `start_process` helper.
 *
 * ```ts
 * const proc = startProcess("tunnel", ["cloudflared", "tunnel"], { owner: service, stdout: "pipe" });
 * ```
 */
export function startProcess(
  name: string,
  argv: string[],
  options: ProcessOptions & StartOptions & { owner?: CleanupOwner } = {},
): ManagedProcess {
  const { owner, cwd, env, stdin, stdout, stderr, ...processOptions } = options ?? {};
  const proc = new ManagedProcess(name, processOptions);
  if (owner !== undefined) proc.attach(owner);
  const start: StartOptions = {};
  if (cwd !== undefined) start.cwd = cwd;
  if (env !== undefined) start.env = env;
  if (stdin !== undefined) start.stdin = stdin;
  if (stdout !== undefined) start.stdout = stdout;
  if (stderr !== undefined) start.stderr = stderr;
  return proc.start(argv, start);
}
