/**
 * The supervisor of a managed process: the restart loop. It finishes one `Run` after another until
 * the process is done — stopped, exited for good, or given up — sleeps the restart policy's
 * backoff in between (a stop wakes it), and emits "exit", "state", "restart" and "giveUp" in their
 * documented order. It owns the process's state, its current run and its last exit.
 */
import { messageOf, StateCell } from "@specter/core";
import type { ProcessContext } from "./context.ts";
import { ProcessError, StopTimeoutError } from "./errors.ts";
import { registerLive, type ShutdownTarget, unregisterLive } from "./exit-hooks.ts";
import { onAbort, type StartConfig } from "./options.ts";
import { hostGuard } from "./orphan-guard.ts";
import { notReady, ReadyGate, RunWatch } from "./readiness.ts";
import { RestartTracker } from "./restart.ts";
import { Run } from "./run.ts";
import type { ProcessExit, ProcessReady, ProcessState } from "./types.ts";

export class Supervisor {
  readonly #ctx: ProcessContext;
  readonly #state: StateCell<ProcessState>;
  readonly #restart: RestartTracker;
  readonly #target: ShutdownTarget;
  /** The last `start()`'s config, which every restart spawns again. */
  #config: StartConfig | undefined;
  #argv: readonly string[] = [];
  #run: Run | undefined;
  /** The current run's readiness, or the one of the run a pending restart is about to spawn. */
  #gate: ReadyGate | undefined;
  #lastExit: ProcessExit | null = null;
  /** Settles with the final exit once the process is done (stopped, exited or failed). */
  #done: Promise<ProcessExit | null> | undefined;
  #stopRequested = false;
  /**
   * The state before the one a finished run led to, until its "state" event is emitted. Kept by
   * hand next to the `StateCell` (which changes it quietly): the deferred event must go out after
   * "exit", or first thing in a `start()` made from an "exit" listener.
   */
  #pendingState: ProcessState | undefined;
  /** The stop in progress, and the `#done` of the start() it stops. */
  #stopping:
    | { done: Promise<ProcessExit | null>; promise: Promise<ProcessExit | null> }
    | undefined;
  #wake: (() => void) | undefined;
  #restartAt: number | undefined;

  constructor(ctx: ProcessContext) {
    this.#ctx = ctx;
    this.#state = new StateCell<ProcessState>("idle", ctx.events.listeners("state"));
    this.#restart = new RestartTracker(ctx.config.restart);
    this.#target = {
      shutdown: () => this.stop(),
      killNow: () => this.#killNow(),
    };
  }

  get state(): ProcessState {
    return this.#state.value;
  }

  /** The run in progress, from spawn until it is finished. */
  get run(): Run | undefined {
    return this.#run;
  }

  get lastExit(): ProcessExit | null {
    return this.#lastExit;
  }

  /** The config of the last `start()`, or `undefined` before any. */
  get config(): StartConfig | undefined {
    return this.#config;
  }

  /** The argv of the last `start()`, frozen. */
  get argv(): readonly string[] {
    return this.#argv;
  }

  /** See `ManagedProcess.ready`; `undefined` before any `start()`. */
  get ready(): Promise<ProcessReady> | undefined {
    return this.#gate?.promise;
  }

  /** Settles with the final exit once the process is done; `undefined` before any `start()`. */
  get done(): Promise<ProcessExit | null> | undefined {
    return this.#done;
  }

  /** Restarts since the last `start()`. */
  get restarts(): number {
    return this.#restart.total;
  }

  /** Milliseconds until the next restart while waiting for it, else `null`. */
  get nextRestartIn(): number | null {
    const at = this.#restartAt;
    return at === undefined ? null : Math.max(0, Math.round(at - performance.now()));
  }

  /** Starting, running, restarting or stopping. */
  active(): boolean {
    const s = this.#state.value;
    return s === "starting" || s === "running" || s === "restarting" || s === "stopping";
  }

  /**
   * Spawns `config` and supervises it until the process is done.
   * @throws {SpawnError} the program cannot be started; nothing has changed.
   */
  start(config: StartConfig): void {
    const run = new Run(config, this.#ctx);
    this.#config = config;
    this.#argv = Object.freeze([...config.argv]);
    this.#stopRequested = false;
    this.#restart.reset();
    // The supervisor exists before "spawn"/"state" fire, so a listener may stop() at once.
    const { promise, resolve } = Promise.withResolvers<ProcessExit | null>();
    this.#done = promise;
    // With a restart policy the next run may come soon: keep the host's guard until the end.
    const { hostShutdown, restart } = this.#ctx.config;
    const release = hostShutdown && restart.policy !== "no" ? hostGuard.hold() : undefined;
    const watch = this.#adopt(run, new ReadyGate());
    // Aborting stops what this start() started, restarts included (a stuck group is reported by
    // its run), until it is done.
    const unlisten = onAbort(config.signal, () => {
      if (this.#done === promise) this.stop().catch(() => {});
    });
    this.#supervise(run, watch, promise, release).finally(unlisten).then(resolve);
  }

  /** See `ManagedProcess.stop()`. */
  stop(): Promise<ProcessExit | null> {
    const done = this.#done;
    // Shared with a stop() of the same start() only: an "exit" listener may have started a new
    // run while an earlier stop() had not settled yet, and this one must stop that run.
    if (this.#stopping && this.#stopping.done === done) return this.#stopping.promise;
    if (!done || !this.active()) return Promise.resolve(this.#lastExit);
    const stopping = {
      done,
      promise: this.#stop(done).finally(() => {
        if (this.#stopping === stopping) this.#stopping = undefined;
      }),
    };
    this.#stopping = stopping;
    return stopping.promise;
  }

  async #stop(done: Promise<ProcessExit | null>): Promise<ProcessExit | null> {
    this.#stopRequested = true;
    this.#setState("stopping");
    this.#wake?.();
    const run = this.#run;
    if (run) {
      run.requestStop();
      const result = await run.terminate();
      if (result === "stuck") {
        throw new StopTimeoutError(
          this.#ctx.name,
          `pid ${run.pid} or its group survived SIGKILL for ${this.#ctx.config.killTimeout}ms ` +
            "(stuck in the kernel, state D?); it is reaped when it finally exits",
        );
      }
    }
    // The supervision's end, not the group's: the run is finished by then (output read to the
    // end, orphan guard reaped), so a stopped process leaves no process of ours behind.
    return done;
  }

  #killNow(): void {
    this.#stopRequested = true;
    this.#wake?.();
    this.#run?.killNow();
  }

  /** Makes `run` the current one, watched for readiness (resolving `gate`) and its timeouts. */
  #adopt(run: Run, gate: ReadyGate): RunWatch {
    this.#run = run;
    this.#gate = gate;
    if (this.#ctx.config.hostShutdown) registerLive(this.#target);
    const watch = new RunWatch(run, this.#config as StartConfig, this.#ctx, gate, () => {
      if (this.#run === run && this.#state.value === "starting") this.#setState("running");
    });
    this.#setState(gate.pending ? "starting" : "running");
    this.#ctx.events.emit("spawn", { pid: run.pid, restarts: this.#restart.total });
    return watch;
  }

  /**
   * Runs until the process is done for good; never rejects. Host hooks cover it all along, so
   * a host shutdown also cancels a pending restart.
   */
  async #supervise(
    first: Run,
    watch: RunWatch,
    done: Promise<ProcessExit | null>,
    releaseGuard: (() => Promise<void>) | undefined,
  ): Promise<ProcessExit | null> {
    try {
      return await this.#superviseRuns(first, watch);
    } catch (error) {
      // A bug of ours: report it rather than leave an unhandled rejection.
      this.#ctx.report(
        new ProcessError(this.#ctx.name, "stop", `supervision failed: ${messageOf(error)}`, {
          cause: error,
        }),
      );
      if (this.#done === done) this.#gate?.reject(notReady(this.#ctx, "abandoned"));
      this.#setState("failed");
      return this.#lastExit;
    } finally {
      // Before the end is known: a stopped process leaves no process of ours behind.
      await releaseGuard?.();
      // Last: during a host shutdown, the last process to go lets the host exit. A listener may
      // have started a new run meanwhile: the hooks are its now.
      if (this.#ctx.config.hostShutdown && this.#done === done) {
        unregisterLive(this.#target);
      }
    }
  }

  async #superviseRuns(first: Run, firstWatch: RunWatch): Promise<ProcessExit | null> {
    const { events } = this.#ctx;
    let run = first;
    let watch = firstWatch;
    for (;;) {
      const exit = await this.#finish(run, watch);
      if (this.#stopRequested || exit.stopped) {
        this.#announceExit(exit, "stopped");
        return exit;
      }
      // A run that had to be ended for its timeout failed, whatever its exit code.
      let decision = this.#restart.decide(exit.exitCode !== 0 || exit.timedOut, exit.uptime);
      let announced = false;
      let next: { run: Run; watch: RunWatch } | undefined;
      // From here `proc.ready` is the next run's: pending through the backoff.
      let upcoming: ReadyGate | undefined;
      while (!next) {
        if (decision.action === "none") {
          upcoming?.reject(notReady(this.#ctx, "abandoned"));
          if (announced) this.#setState("exited");
          else this.#announceExit(exit, "exited");
          return exit;
        }
        if (decision.action === "giveUp") {
          upcoming?.reject(notReady(this.#ctx, "abandoned"));
          const window = this.#ctx.config.restart.window;
          const info = { restarts: this.#restart.total, window, exit };
          if (announced) this.#setState("failed");
          else this.#announceExit(exit, "failed");
          events.emit("giveUp", info);
          return exit;
        }
        upcoming ??= new ReadyGate();
        this.#gate = upcoming;
        if (announced) this.#setState("restarting");
        else this.#announceExit(exit, "restarting");
        announced = true;
        if (!this.#stopRequested) {
          events.emit("restart", { restarts: this.#restart.total, delay: decision.delay, exit });
          await this.#sleep(decision.delay);
        }
        if (this.#stopRequested) {
          upcoming.reject(notReady(this.#ctx, "stopped"));
          this.#setState("stopped");
          return exit;
        }
        try {
          const spawned = new Run(this.#config as StartConfig, this.#ctx);
          next = { run: spawned, watch: this.#adopt(spawned, upcoming) };
        } catch (error) {
          this.#ctx.report(
            error instanceof ProcessError
              ? error
              : new ProcessError(this.#ctx.name, "spawn", `restart failed: ${messageOf(error)}`, {
                  cause: error,
                }),
          );
          decision = this.#restart.decide(true, 0);
        }
      }
      ({ run, watch } = next);
    }
  }

  /** Finishes `run` (see `Run.finish`), settles its readiness and records its exit. */
  async #finish(run: Run, watch: RunWatch): Promise<ProcessExit> {
    const exit = await run.finish();
    watch.finish(exit);
    if (this.#run === run) this.#run = undefined;
    this.#lastExit = exit;
    return exit;
  }

  /**
   * A run ended: the state it leads to is taken before "exit" is emitted, so an "exit" listener
   * sees it (and may `start()` again once the process is done); the "state" event follows "exit"
   * (or comes first thing in that `start()`).
   */
  #announceExit(exit: ProcessExit, state: ProcessState): void {
    const previous = this.#state.setQuietly(state);
    if (previous !== state) this.#pendingState = previous;
    this.#ctx.events.emit("exit", exit);
    this.#flushState();
  }

  #flushState(): void {
    const previous = this.#pendingState;
    if (previous === undefined) return;
    this.#pendingState = undefined;
    this.#ctx.events.emit("state", this.#state.value, previous);
  }

  #setState(state: ProcessState): void {
    this.#flushState();
    this.#state.set(state);
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
}
