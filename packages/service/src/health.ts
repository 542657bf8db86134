/**
 * What `Service.health()` returns, defined once as zod schemas built from the health schemas of
 * the watcher and process packages: the TypeScript types are inferred from them, and the status
 * endpoint's response schemas extend them. Strict objects, so a field added to `health()` but not
 * here fails the test that parses it.
 */
import { ProcessHealth } from "@specter/process";
import { WatcherHealth } from "@specter/watcher";
import { z } from "zod";

export const ServiceState = z.enum([
  "idle",
  "starting",
  "running",
  "stopping",
  "stopped",
  "failed",
]);
export type ServiceState = z.infer<typeof ServiceState>;

/** Where a reported error came from. */
export const ServiceErrorPhase = z.enum(["start", "stop", "cleanup", "task", "listener"]);
export type ServiceErrorPhase = z.infer<typeof ServiceErrorPhase>;

/** Timers and tasks running now. */
export const TaskCounts = z.strictObject({
  intervals: z.number().int(),
  timeouts: z.number().int(),
  spawned: z.number().int(),
});
export type TaskCounts = z.infer<typeof TaskCounts>;

export const ServiceHealth = z.strictObject({
  name: z.string(),
  state: ServiceState,
  /** Milliseconds since it started; 0 when not running. */
  uptime: z.number(),
  /** Cleanups waiting for the next stop (owned resources, tasks, subscriptions). */
  owned: z.number().int(),
  tasks: TaskCounts,
  /** Errors reported so far (failed cleanups, tasks, listeners). */
  errorCount: z.number().int(),
  lastError: z
    .strictObject({ message: z.string(), phase: ServiceErrorPhase, at: z.number() })
    .nullable(),
  /** The watchers it owns now. */
  watchers: z.array(WatcherHealth),
  /** The processes it owns now. */
  processes: z.array(ProcessHealth),
  /** The child services it owns now (`adopt`), each with its own health. */
  get children(): z.ZodArray<typeof ServiceHealth> {
    return z.array(ServiceHealth);
  },
});
/** The health of a service and, recursively, of every watcher, process and child it owns. */
export type ServiceHealth = z.infer<typeof ServiceHealth>;
