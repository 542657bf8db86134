/**
 * The shapes of the status endpoint's responses, as zod schemas, for clients that want to
 * validate what they get: `StatusResponse.parse(await res.json())`. They are built from the
 * health schemas of the packages that own them (`WatcherHealth`, `ProcessHealth`,
 * `ServiceHealth`), and are strict like them: a field `health()` gains reaches `/status` and
 * these schemas at once, and nothing else does.
 */
import { ProcessHealth } from "@specter/process";
import { WatcherHealth } from "@specter/watcher";
import { z } from "zod";
import { ServiceHealth } from "../health.ts";

/** A watcher as `/status` shows it: exactly its `health()`. */
export const WatcherStatus = WatcherHealth;
export type WatcherStatus = z.infer<typeof WatcherStatus>;

/** A process as `/status` shows it: its `health()` and its command line. */
export const ProcessStatus = ProcessHealth.extend({
  /** The command line, with secret-looking values masked. */
  argv: z.array(z.string()),
});
export type ProcessStatus = z.infer<typeof ProcessStatus>;

/** A service as `/status` shows it: its `health()`, whether it is healthy, and why not. */
export const ServiceStatus = ServiceHealth.omit({
  processes: true,
  children: true,
}).extend({
  /** Running, and none of its watchers, processes or children failed. */
  healthy: z.boolean(),
  /** Why it is not healthy (empty when it is). */
  reasons: z.array(z.string()),
  /**
   * The service's `data`, with secret-looking keys and values masked and each value cut to a
   * bounded size (see `maskData`).
   */
  data: z.record(z.string(), z.unknown()),
  processes: z.array(ProcessStatus),
  get children(): z.ZodArray<typeof ServiceStatus> {
    return z.array(ServiceStatus);
  },
});
export type ServiceStatus = z.infer<typeof ServiceStatus>;

export const StatusResponse = z.strictObject({
  services: z.array(ServiceStatus),
  at: z.number(),
});
export type StatusResponse = z.infer<typeof StatusResponse>;

export const HealthzResponse = z.strictObject({
  ok: z.boolean(),
  services: z.number().int(),
  reasons: z.array(z.string()),
});
export type HealthzResponse = z.infer<typeof HealthzResponse>;

export const ErrorResponse = z.strictObject({
  error: z.string(),
});

/** One Server-Sent Event of `GET /events`: its `event:` is `type`, its `data:` this JSON. */
export const ActivityEvent = z
  .object({
    type: z.enum([
      "service",
      "watcher-value",
      "watcher-state",
      "process-state",
      "process-exit",
      "process-restart",
      "process-give-up",
      "event",
      "data",
      "error",
    ]),
    service: z.string(),
    at: z.number(),
  })
  .loose();
