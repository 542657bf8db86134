/**
 * The shapes of the status endpoint's responses, as zod schemas, for clients that want to
 * validate what they get: `StatusResponse.parse(await res.json())`.
 */
import { z } from "zod";

const LastError = z.object({ message: z.string(), phase: z.string(), at: z.number() }).nullable();

export const WatcherStatus = z.object({
  name: z.string(),
  mode: z.enum(["poll", "stream"]),
  state: z.enum(["idle", "running", "backoff", "stopping", "stopped", "failed", "ended"]),
  isolation: z.enum(["thread", "shared-worker", "dedicated-worker"]),
  errorCount: z.number().int(),
  consecutiveErrors: z.number().int(),
  callbackErrors: z.number().int(),
  lastError: LastError,
  lastValueAt: z.number().nullable(),
  delivered: z.number().int(),
  deduped: z.number().int(),
  uptime: z.number(),
  subscribers: z.number().int(),
  skippedTicks: z.number().int(),
  workerRestarts: z.number().int(),
  lastWorkerRestart: z.object({ reason: z.string(), at: z.number() }).nullable(),
  nextRetryIn: z.number().nullable(),
});

const Exit = z.object({
  pid: z.number().int(),
  exitCode: z.number().int().nullable(),
  signalCode: z.string().nullable(),
  stopped: z.boolean(),
  killed: z.boolean(),
  uptime: z.number(),
  at: z.number(),
});

const StreamStats = z.object({
  lines: z.number(),
  bytes: z.number(),
  overflows: z.number(),
  watchers: z.number(),
});

export const ProcessStatus = z.object({
  name: z.string(),
  /** The command line, with secret-looking values masked. */
  argv: z.array(z.string()),
  pid: z.number().int().nullable(),
  state: z.enum(["idle", "running", "restarting", "stopping", "stopped", "exited", "failed"]),
  restarts: z.number().int(),
  lastExit: Exit.nullable(),
  uptime: z.number(),
  callbackErrors: z.number().int(),
  lastError: LastError,
  nextRestartIn: z.number().nullable(),
  streams: z.object({ stdout: StreamStats, stderr: StreamStats }),
});

export interface ServiceStatusShape {
  name: string;
  state: "idle" | "starting" | "running" | "stopping" | "stopped" | "failed";
  healthy: boolean;
  reasons: string[];
  uptime: number;
  errorCount: number;
  lastError: z.infer<typeof LastError>;
  tasks: { intervals: number; timeouts: number; spawned: number };
  watchers: z.infer<typeof WatcherStatus>[];
  processes: z.infer<typeof ProcessStatus>[];
  children: ServiceStatusShape[];
}

export const ServiceStatus: z.ZodType<ServiceStatusShape> = z.object({
  name: z.string(),
  state: z.enum(["idle", "starting", "running", "stopping", "stopped", "failed"]),
  /** Running, and none of its watchers, processes or children failed. */
  healthy: z.boolean(),
  /** Why it is not healthy (empty when it is). */
  reasons: z.array(z.string()),
  uptime: z.number(),
  errorCount: z.number().int(),
  lastError: LastError,
  tasks: z.object({
    intervals: z.number().int(),
    timeouts: z.number().int(),
    spawned: z.number().int(),
  }),
  watchers: z.array(WatcherStatus),
  processes: z.array(ProcessStatus),
  get children() {
    return z.array(ServiceStatus);
  },
});

export const StatusResponse = z.object({
  services: z.array(ServiceStatus),
  at: z.number(),
});

export const HealthzResponse = z.object({
  ok: z.boolean(),
  services: z.number().int(),
  reasons: z.array(z.string()),
});

export const ErrorResponse = z.object({
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
      "error",
    ]),
    service: z.string(),
    at: z.number(),
  })
  .loose();

export type StatusResponse = z.infer<typeof StatusResponse>;
export type HealthzResponse = z.infer<typeof HealthzResponse>;
export type ServiceStatus = ServiceStatusShape;
