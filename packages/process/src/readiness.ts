/**
 * What each run of a managed process is watched for besides its exit: its `timeout`, and, with a
 * `ready` option, its ready line within `readyTimeout`. `proc.ready` is the `ReadyGate` of the
 * current run (or of the run a pending restart is about to spawn), which settles once.
 */
import { messageOf } from "@specter/core";
import type { ProcessContext } from "./context.ts";
import { ProcessError, ProcessStateError, ReadyError } from "./errors.ts";
import { DEFAULT_MAX_LINE_LENGTH, type StartConfig } from "./options.ts";
import { type Run, STREAMS } from "./run.ts";
import type { ProcessExit, ProcessReady, StreamName } from "./types.ts";

/** One run's readiness: pending until its ready line, then resolved; or rejected. */
export class ReadyGate {
  readonly promise: Promise<ProcessReady>;
  readonly #resolve: (ready: ProcessReady) => void;
  readonly #reject: (error: Error) => void;
  #pending = true;

  constructor() {
    const { promise, resolve, reject } = Promise.withResolvers<ProcessReady>();
    // Awaiting `proc.ready` is optional: a rejection nobody awaits must not crash the host.
    promise.catch(() => {});
    this.promise = promise;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  get pending(): boolean {
    return this.#pending;
  }

  resolve(ready: ProcessReady): void {
    if (!this.#pending) return;
    this.#pending = false;
    this.#resolve(ready);
  }

  reject(error: Error): void {
    if (!this.#pending) return;
    this.#pending = false;
    this.#reject(error);
  }
}

/** `proc.ready` before any `start()`. */
export function neverStarted(label: string): Promise<ProcessReady> {
  const gate = new ReadyGate();
  gate.reject(new ProcessStateError(`${label} was never started; call start() first`));
  return gate.promise;
}

/**
 * A rejection for a run that ended before it was ready: `exit` says how, "stopped" is a restart
 * cancelled by `stop()`, "abandoned" one that could not be spawned.
 */
export function notReady(
  ctx: ProcessContext,
  end: ProcessExit | "stopped" | "abandoned",
): ReadyError {
  const stopped = end === "stopped" || (typeof end === "object" && end.stopped);
  let how = "was stopped";
  if (end === "abandoned") how = "could not be restarted";
  else if (typeof end === "object" && !stopped) {
    how = `exited (${end.signalCode ?? `code ${end.exitCode}`})`;
  }
  return new ReadyError(
    ctx.name,
    stopped ? "stop" : "exit",
    `${ctx.label} ${how} before it was ready`,
  );
}

const LINES = { mode: "lines", maxLineLength: DEFAULT_MAX_LINE_LENGTH, overflow: "split" } as const;

/**
 * Watches one run from its spawn: resolves `gate` at the first line `ready` accepts (at once
 * without a `ready` option) and calls `onReady`; ends the run (`timedOut`) when `timeout` or
 * `readyTimeout` passes. `finish()` when the run is over.
 */
export class RunWatch {
  readonly gate: ReadyGate;
  readonly #ctx: ProcessContext;
  readonly #run: Run;
  readonly #onReady: () => void;
  #runTimer: Timer | undefined;
  #readyTimer: Timer | undefined;
  #unwatch: (() => void)[] = [];

  /** `config`: the run's, whose piped output streams may carry the ready line. */
  constructor(
    run: Run,
    config: StartConfig,
    ctx: ProcessContext,
    gate: ReadyGate,
    onReady: () => void,
  ) {
    this.gate = gate;
    this.#ctx = ctx;
    this.#run = run;
    this.#onReady = onReady;
    const { timeout, ready, readyTimeout } = ctx.config;
    if (timeout !== undefined) {
      this.#runTimer = setTimeout(() => this.#expire("timeout", timeout), timeout);
    }
    if (!ready) {
      gate.resolve({ pid: run.pid, line: null, stream: null, after: 0 });
      return;
    }
    const failed = ctx.reporter.callbackFailed(
      (error) =>
        new ProcessError(ctx.name, "callback", `the "ready" check threw: ${messageOf(error)}`, {
          cause: error,
        }),
    );
    for (const stream of STREAMS) {
      if (config[stream] !== "pipe") continue;
      const check = (line: string) => {
        let matched = false;
        try {
          matched = Boolean(ready(line, stream));
        } catch (error) {
          failed(error);
        }
        if (matched) this.#ready(line, stream);
      };
      this.#unwatch.push(ctx.taps[stream].watch(LINES, check));
    }
    this.#readyTimer = setTimeout(() => this.#expire("readyTimeout", readyTimeout), readyTimeout);
  }

  /** The run is over: stops watching, and rejects the gate if it was not ready. */
  finish(exit: ProcessExit): void {
    clearTimeout(this.#runTimer);
    this.#stopWaiting();
    this.gate.reject(notReady(this.#ctx, exit));
  }

  #ready(line: string, stream: StreamName): void {
    if (!this.gate.pending) return;
    this.#stopWaiting();
    const after = Math.round(performance.now() - this.#run.startedAt);
    this.gate.resolve({ pid: this.#run.pid, line, stream, after });
    this.#onReady();
  }

  #expire(option: "timeout" | "readyTimeout", ms: number): void {
    const run = this.#run;
    // Ending already (its child exited, or stop() was asked): not a timeout; `finish()` rejects
    // the gate with how it did end, and a ready line still in its output may yet come.
    if (run.exit !== undefined || run.stopRequested) return;
    this.#stopWaiting();
    const { label, name } = this.#ctx;
    const when =
      option === "timeout" ? `when its timeout (${ms}ms) ran out` : `within readyTimeout (${ms}ms)`;
    this.gate.reject(
      new ReadyError(name, "timeout", `${label} was not ready ${when}; stopping it`),
    );
    run.timedOut = true;
    // finish() awaits the same sequence, and reports what goes wrong with it.
    run.terminate().catch(() => {});
  }

  #stopWaiting(): void {
    clearTimeout(this.#readyTimer);
    this.#readyTimer = undefined;
    for (const unwatch of this.#unwatch.splice(0)) unwatch();
  }
}
