/**
 * What the parts of one managed process share — the public class, its supervisor and each run:
 * its name and options, its events, its error bookkeeping (last error, callback errors, the
 * console when nobody listens) and the taps of its output streams, which outlive every run.
 */
import { Emitter, messageOf, Reporter } from "@specter/core";
import { ProcessError } from "./errors.ts";
import type { ProcessConfig } from "./options.ts";
import { StreamTap } from "./stream-tap.ts";
import type { ProcessEvents, StreamName } from "./types.ts";

export const EVENTS = ["spawn", "exit", "restart", "giveUp", "error", "state"] as const;

export class ProcessContext {
  /** `ManagedProcess "name"`, for messages. */
  readonly label: string;
  readonly events: Emitter<ProcessEvents>;
  readonly reporter: Reporter<ProcessError>;
  /** One per stream, shared by every run of the process. */
  readonly taps: Readonly<Record<StreamName, StreamTap>>;

  constructor(
    readonly name: string,
    readonly config: ProcessConfig,
  ) {
    this.label = `ManagedProcess "${name}"`;
    this.events = new Emitter<ProcessEvents>(EVENTS, `${this.label}: on()`, (error, event) => {
      const reported = new ProcessError(
        name,
        "callback",
        `a "${event}" listener threw: ${messageOf(error)}`,
        { cause: error },
      );
      this.reporter.callbackErrors++;
      // An "error" listener that throws cannot be reported to the "error" listeners.
      if (event === "error") console.error(`[specter] ${reported.message}`);
      else this.reporter.report(reported);
    });
    const reporter = new Reporter<ProcessError>(this.events.listeners("error"));
    this.reporter = reporter;
    const tapError = (stream: StreamName) =>
      reporter.callbackFailed(
        (error) =>
          new ProcessError(name, "callback", `a ${stream} watcher threw: ${messageOf(error)}`, {
            cause: error,
          }),
      );
    this.taps = {
      stdout: new StreamTap(tapError("stdout")),
      stderr: new StreamTap(tapError("stderr")),
    };
  }

  /** Records `error` and hands it to the "error" listeners (or `console.error` without any). */
  report(error: ProcessError): void {
    this.reporter.report(error);
  }
}
