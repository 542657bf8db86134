import { SpecterError } from "@specter/core";

import type { ProcessErrorPhase } from "./health.ts";

/**
 * An error reported by a managed process (through `on("error")`, or `console.error` when nobody
 * listens): a callback that threw, a stream that failed, a restart that could not spawn.
 */
export class ProcessError extends SpecterError<ProcessErrorPhase> {
  static override readonly kind = "ManagedProcess";
  override readonly name: string = "ProcessError";

  /** The managed process's name (the same as `owner`). */
  get process(): string {
    return this.owner;
  }
}

/** The program could not be started (missing executable, not executable, bad `cwd`). */
export class SpawnError extends ProcessError {
  override readonly name = "SpawnError";
  constructor(
    process: string,
    message: string,
    /** The system error code (`ENOENT`, `EACCES`, ...), when there was one. */
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(process, "spawn", message, options);
  }
}

/** A method was called in a state that does not allow it (start while running, ...). */
export class ProcessStateError extends Error {
  override readonly name = "ProcessStateError";
}

/** `wait(timeout)` gave up; the process is still running and untouched. */
export class WaitTimeoutError extends Error {
  override readonly name = "WaitTimeoutError";
}

/** The process (or one in its group) outlived SIGKILL plus `killTimeout`: stuck in the kernel. */
export class StopTimeoutError extends ProcessError {
  override readonly name = "StopTimeoutError";
  constructor(process: string, message: string) {
    super(process, "stop", message);
  }
}

/** Why a run's `proc.ready` rejected. */
export type NotReadyReason = "timeout" | "exit" | "stop";

/**
 * `proc.ready` rejected: the run was not ready within `readyTimeout` (`"timeout"`; it is being
 * stopped), ended before it was (`"exit"`), or was stopped first (`"stop"`).
 */
export class ReadyError extends Error {
  override readonly name = "ReadyError";
  constructor(
    /** The managed process's name. */
    readonly process: string,
    readonly reason: NotReadyReason,
    message: string,
  ) {
    super(message);
  }
}

/** `start({ signal })` with a signal that is already aborted: nothing was started. */
export class AbortError extends Error {
  override readonly name = "AbortError";
}
