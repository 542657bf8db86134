import type { ProcessExit, ProcessState } from "@specter/process";
import type { WatcherState } from "@specter/watcher";

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
  | { type: "error"; service: string; phase: string; message: string; at: number };
