/**
 * What a service tells its listeners: the events of `service.on()` ("state", "error",
 * "activity", "data"), the error bookkeeping of `health()` (count, last error, `console.error`
 * when nobody listens), and the activity of the service itself (its state changes, errors and
 * emitted events; what it owns adds its own, see `activity.ts`).
 */
import { Emitter, type Listeners, messageOf, Reporter } from "@specter/core";
import type { Activity } from "./activity.ts";
import { ServiceError } from "./errors.ts";
import type { ServiceErrorPhase, ServiceState } from "./health.ts";
import type { ServiceEvents } from "./types.ts";

export class Feed<D extends object> {
  readonly emitter: Emitter<ServiceEvents<D>>;
  /** The "activity" listeners, for everything that feeds them. */
  readonly activity: Listeners<[Activity]>;
  readonly reporter: Reporter<ServiceError>;

  constructor(private readonly service: string) {
    this.emitter = new Emitter(
      ["state", "error", "activity", "data"],
      `Service "${service}".on()`,
      (error, event) => {
        // Reporting what an "error" or "activity" listener threw would call it again.
        if (event === "error" || event === "activity") {
          console.error(`[specter] an "${event}" listener of service "${service}" threw:`, error);
        } else this.listenerFailed(event, error);
      },
    );
    this.activity = this.emitter.listeners("activity");
    this.reporter = new Reporter(this.emitter.listeners("error"));
  }

  /** Reports an error that has no caller to throw to: to the activity feed and "error". */
  report(phase: ServiceErrorPhase, message: string, cause?: unknown): void {
    const service = this.service;
    const error = new ServiceError(
      service,
      phase,
      message,
      cause === undefined ? undefined : { cause },
    );
    if (this.activity.size > 0) {
      this.activity.emit({ type: "error", service, phase, message: error.message, at: Date.now() });
    }
    this.reporter.report(error);
  }

  /** Reports what a listener (of an `on()` event or a user event) threw. */
  listenerFailed(event: string, error: unknown): void {
    this.report("listener", `a listener of "${event}" threw: ${messageOf(error)}`, error);
  }

  stateChanged(state: ServiceState, previous: ServiceState): void {
    if (this.activity.size === 0) return;
    this.activity.emit({ type: "service", service: this.service, state, previous, at: Date.now() });
  }

  /** `setData` changed these keys; wrapped only when someone listens. */
  dataChanged(changed: Record<string, unknown>): void {
    if (this.activity.size === 0) return;
    this.activity.emit({ type: "data", service: this.service, changed, at: Date.now() });
  }

  /** A user event published with `emit()`; wrapped only when someone listens. */
  emitted(event: string, data: unknown): void {
    if (this.activity.size === 0) return;
    this.activity.emit({ type: "event", service: this.service, event, data, at: Date.now() });
  }
}
