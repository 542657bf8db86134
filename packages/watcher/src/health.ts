/**
 * What `Watcher.health()` returns, defined once as zod schemas: the TypeScript types are inferred
 * from them, and the status endpoint of `@specter/service` builds its response schemas from them.
 * Strict objects, so a field added to `health()` but not here fails the test that parses it.
 */
import { z } from "zod";

export const WatcherMode = z.enum(["poll", "stream"]);
export type WatcherMode = z.infer<typeof WatcherMode>;

export const WatcherState = z.enum([
  "idle",
  "running",
  "backoff",
  "stopping",
  "stopped",
  "failed",
  "ended",
]);
export type WatcherState = z.infer<typeof WatcherState>;

/** Where a watcher's source runs. */
export const Isolation = z.enum(["thread", "shared-worker", "dedicated-worker", "process"]);
export type Isolation = z.infer<typeof Isolation>;

/** Where an error came from. */
export const ErrorPhase = z.enum([
  "poll",
  "stream",
  "timeout",
  "load",
  "worker",
  "clone",
  "transform",
  "subscriber",
]);
export type ErrorPhase = z.infer<typeof ErrorPhase>;

export const WatcherHealth = z.strictObject({
  name: z.string(),
  mode: WatcherMode,
  state: WatcherState,
  isolation: Isolation,
  /** Source failures since construction (poll or stream errors, timeouts, worker deaths). */
  errorCount: z.number().int(),
  /** Source failures since the last success; drives the backoff. */
  consecutiveErrors: z.number().int(),
  /** Errors thrown by subscribers or `transform` (isolated; they do not count as failures). */
  callbackErrors: z.number().int(),
  lastError: z.strictObject({ message: z.string(), phase: ErrorPhase, at: z.number() }).nullable(),
  /** Epoch milliseconds of the last delivered value. */
  lastValueAt: z.number().nullable(),
  /** Values delivered to subscribers. */
  delivered: z.number().int(),
  /** Values dropped by `dedupe`. */
  deduped: z.number().int(),
  /** Milliseconds since the current run started; 0 when not running. */
  uptime: z.number(),
  subscribers: z.number().int(),
  /** Poll ticks skipped because the previous poll was still running. */
  skippedTicks: z.number().int(),
  /** Times the source was restarted in a new worker because its worker died or was killed. */
  workerRestarts: z.number().int(),
  lastWorkerRestart: z.strictObject({ reason: z.string(), at: z.number() }).nullable(),
  /**
   * Its source killed shared workers outside any call (a timer of its own threw or exited) and now
   * runs on a worker of its own for the rest of this run. After the loop failed or ended it keeps
   * its last value until the next start. Always `false` outside workers.
   */
  quarantined: z.boolean(),
  /**
   * A worker killed for its source still runs, blocked in a native call that cannot be
   * interrupted (`Bun.sleepSync`; not `Bun.spawnSync`, whose child is killed); no new worker is
   * started for it meanwhile and its polls fail (phase `worker`) with backoff. Still read after
   * the loop failed or ended, until the next start. Always `false` outside workers.
   */
  unkillable: z.boolean(),
  /** Milliseconds until the next retry, while in `backoff`. */
  nextRetryIn: z.number().nullable(),
});
export type WatcherHealth = z.infer<typeof WatcherHealth>;
