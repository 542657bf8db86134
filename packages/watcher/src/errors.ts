import { SpecterError } from "@specter/core";
import type { ErrorPhase } from "./types.ts";

/** An error reported by a watcher: `phase` says where it came from, `cause` is the original. */
export class WatcherError extends SpecterError<ErrorPhase> {
  override readonly name = "WatcherError";
  constructor(watcher: string, phase: ErrorPhase, message: string, options?: { cause?: unknown }) {
    super(watcher, phase, `watcher "${watcher}": ${message}`, options);
  }

  /** The watcher's name (the same as `owner`). */
  get watcher(): string {
    return this.owner;
  }
}

/** A poll that took longer than its `timeout`. */
export class PollTimeoutError extends Error {
  override readonly name = "PollTimeoutError";
}

/** The worker hosting a source exited or was killed while a call was running. */
export class WorkerExitError extends Error {
  override readonly name = "WorkerExitError";
}

/** The module source could not be loaded (missing file or export). Not retried. */
export class SourceLoadError extends Error {
  override readonly name = "SourceLoadError";
}

/** A value could not be structured-cloned out of the worker. */
export class CloneError extends Error {
  override readonly name = "CloneError";
}
