/**
 * The base of the errors that Watcher, ManagedProcess and Service report rather than throw: who
 * reported it (`owner`, the instance's name), where it came from (`phase`) and the original error
 * as `cause`. Each package extends it once (`WatcherError`, `ProcessError`, `ServiceError`) and
 * only sets `kind`, so a handler can catch them all with `instanceof SpecterError`.
 */
export class SpecterError<Phase extends string = string> extends Error {
  /** What reports it, as the message names it: `watcher "disk": ...`. Set by each subclass. */
  static readonly kind: string = "specter";
  override readonly name: string = "SpecterError";

  constructor(
    /** The name of the watcher, process or service that reported it. */
    readonly owner: string,
    /** Where it came from, e.g. `"poll"`, `"spawn"`, `"cleanup"`. */
    readonly phase: Phase,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${(new.target as typeof SpecterError).kind} "${owner}": ${message}`, options);
  }
}
