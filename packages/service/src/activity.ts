import type { Listeners } from "@specter/core";
import type { ManagedProcess, ProcessExit, ProcessState } from "@specter/process";
import type { Watcher, WatcherState } from "@specter/watcher";

/**
 * What happened inside a service, as the status endpoint streams it (`GET /events`). `service` is
 * the path of the service that owns the thing, e.g. `"monitor"` or `"monitor/disk-checker"`.
 */
export type Activity =
  | { type: "service"; service: string; state: string; previous: string; at: number }
  | { type: "watcher-value"; service: string; watcher: string; value: unknown; at: number }
  | {
      type: "watcher-state";
      service: string;
      watcher: string;
      state: WatcherState;
      previous: WatcherState;
      at: number;
    }
  | {
      type: "process-state";
      service: string;
      process: string;
      state: ProcessState;
      previous: ProcessState;
      at: number;
    }
  | { type: "process-exit"; service: string; process: string; exit: ProcessExit; at: number }
  | {
      type: "process-restart";
      service: string;
      process: string;
      restarts: number;
      delay: number;
      at: number;
    }
  | { type: "process-give-up"; service: string; process: string; restarts: number; at: number }
  | { type: "event"; service: string; event: string; data: unknown; at: number }
  /** `setData` changed these keys (their new values; unchanged keys are left out). */
  | { type: "data"; service: string; changed: Record<string, unknown>; at: number }
  | { type: "error"; service: string; phase: string; message: string; at: number };

/** Where a service's activity goes: its "activity" listeners. */
type Sink = Listeners<[Activity]>;

/**
 * Turns what `watcher` does into activity of service `service` until the returned function is
 * called. Values are only wrapped when someone listens: they can come thousands a second.
 */
export function watcherActivity(
  service: string,
  watcher: Watcher<unknown, unknown>,
  sink: Sink,
): () => void {
  const offs = [
    watcher.subscribe((value) => {
      if (sink.size > 0) {
        sink.emit({ type: "watcher-value", service, watcher: watcher.name, value, at: Date.now() });
      }
    }),
    watcher.onState((state, previous) => {
      sink.emit({
        type: "watcher-state",
        service,
        watcher: watcher.name,
        state,
        previous,
        at: Date.now(),
      });
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}

/** Turns a process's state changes, exits, restarts and giving up into activity. */
export function processActivity(service: string, proc: ManagedProcess, sink: Sink): () => void {
  const base = () => ({ service, process: proc.name, at: Date.now() });
  const offs = [
    proc.on("state", (state, previous) =>
      sink.emit({ type: "process-state", ...base(), state, previous }),
    ),
    proc.on("exit", (exit) => sink.emit({ type: "process-exit", ...base(), exit })),
    proc.on("restart", ({ restarts, delay }) =>
      sink.emit({ type: "process-restart", ...base(), restarts, delay }),
    ),
    proc.on("giveUp", ({ restarts }) =>
      sink.emit({ type: "process-give-up", ...base(), restarts }),
    ),
  ];
  return () => {
    for (const off of offs) off();
  };
}

/** Passes a child service's activity on, its `service` prefixed with the parent's path. */
export function childActivity(
  service: string,
  child: { on(event: "activity", fn: (activity: Activity) => unknown): () => void },
  sink: Sink,
): () => void {
  return child.on("activity", (activity) =>
    sink.emit({ ...activity, service: `${service}/${activity.service}` }),
  );
}
