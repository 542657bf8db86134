import { SpecterError } from "@specter/core";
import type { ErrorPhase, WatcherMode } from "./health.ts";

/** An error reported by a watcher: `phase` says where it came from, `cause` is the original. */
export class WatcherError extends SpecterError<ErrorPhase> {
  static override readonly kind = "watcher";
  override readonly name = "WatcherError";

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

/** Where a source failure came from, by the kind of error. */
export function phaseOf(error: Error, mode: WatcherMode): ErrorPhase {
  if (error instanceof PollTimeoutError) return "timeout";
  if (error instanceof WorkerExitError) return "worker";
  if (error instanceof SourceLoadError) return "load";
  if (error instanceof CloneError) return "clone";
  return mode;
}

export function describeFailure(phase: ErrorPhase, error: Error): string {
  switch (phase) {
    case "timeout":
      return error.message;
    case "load":
      return `cannot load the source: ${error.message}`;
    case "worker":
      return error.message;
    case "clone":
      return `${error.message} (return plain data: no functions, class instances or sockets)`;
    case "stream":
      return `stream failed: ${error.message}`;
    default:
      return `poll failed: ${error.message}`;
  }
}

/**
 * Whether a source's error is JavaScriptCore running out of memory. Measured in a Bun 1.4.5
 * worker: a string doubled until it fails throws `RangeError: Out of memory` at 2 GiB, and the
 * ~2 GB the source still references stay held by that worker (host RSS 2,079 MB) until the worker
 * ends (31 MB after `terminate()`), so its worker is replaced. A source subprocess
 * (`isolation: "process"`) throws the same and stays alive holding it (2,078 MB RSS until
 * `stop()`), so its process group is killed.
 */
export function outOfMemory(error: Error): boolean {
  return error.name === "RangeError" && /^out of memory/i.test(error.message);
}
