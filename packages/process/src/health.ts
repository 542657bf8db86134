/**
 * What `ManagedProcess.health()` returns, defined once as zod schemas: the TypeScript types are
 * inferred from them, and the status endpoint of `@specter/service` builds its response schemas
 * from them. Strict objects, so a field added to `health()` but not here fails the test that
 * parses it.
 */
import { z } from "zod";

/** `starting`: spawned, waiting for the `ready` line (only with a `ready` option). */
export const ProcessState = z.enum([
  "idle",
  "starting",
  "running",
  "restarting",
  "stopping",
  "stopped",
  "exited",
  "failed",
]);
export type ProcessState = z.infer<typeof ProcessState>;

/** Where a reported error came from. */
export const ProcessErrorPhase = z.enum(["spawn", "callback", "stream", "stop"]);
export type ProcessErrorPhase = z.infer<typeof ProcessErrorPhase>;

export const ProcessExit = z.strictObject({
  pid: z.number().int(),
  /** Exit code, or `null` when a signal ended it. */
  exitCode: z.number().int().nullable(),
  /** The signal that ended it, or `null` when it exited by itself. */
  signalCode: z.custom<NodeJS.Signals>((v) => typeof v === "string").nullable(),
  /** `true` when `stop()` (or host shutdown) ended it. */
  stopped: z.boolean(),
  /** `true` when it (or a process of its group) had to be sent SIGKILL. */
  killed: z.boolean(),
  /**
   * Processes of the run found outside its process group when it ended, and ended with it: in its
   * session (job-control groups, `setpgid`) or carrying its marker (`setsid`, double-fork
   * daemons). Non-zero says the program leaves its group.
   */
  escaped: z.number().int(),
  /** `true` when `timeout` or `readyTimeout` ran out and the run was ended for it. */
  timedOut: z.boolean(),
  /** How long it ran, in milliseconds. */
  uptime: z.number(),
  /** Epoch milliseconds of the exit. */
  at: z.number(),
});
export type ProcessExit = z.infer<typeof ProcessExit>;

export const StreamStats = z.strictObject({
  /** Lines delivered to line watchers (counted once per splitter configuration). */
  lines: z.number().int(),
  bytes: z.number().int(),
  /** Lines longer than `maxLineLength`. */
  overflows: z.number().int(),
  /** Callbacks watching this stream. */
  watchers: z.number().int(),
});
export type StreamStats = z.infer<typeof StreamStats>;

/** What the current run's process group uses, read from `/proc` when `health()` is called. */
export const ProcessUsage = z.strictObject({
  /** Live members of the group: the child and whatever it started that stayed in its group. */
  processes: z.number().int(),
  /**
   * CPU seconds (user and kernel) of the members and of the children they have reaped, since the
   * run's spawn; a restart starts it again from 0.
   */
  cpuSeconds: z.number(),
  /** Resident memory of the live members, summed. */
  residentMemoryBytes: z.number().int(),
});
export type ProcessUsage = z.infer<typeof ProcessUsage>;

export const ProcessHealth = z.strictObject({
  name: z.string(),
  pid: z.number().int().nullable(),
  state: ProcessState,
  /** Restarts since the last `start()`. */
  restarts: z.number().int(),
  lastExit: ProcessExit.nullable(),
  /** Milliseconds since the current child was spawned; 0 when none is alive. */
  uptime: z.number(),
  /** Errors thrown by stream callbacks and event listeners (isolated, reported). */
  callbackErrors: z.number().int(),
  lastError: z
    .strictObject({ message: z.string(), phase: ProcessErrorPhase, at: z.number() })
    .nullable(),
  /** Milliseconds until the next restart, while `restarting`. */
  nextRestartIn: z.number().nullable(),
  streams: z.strictObject({ stdout: StreamStats, stderr: StreamStats }),
  /** CPU and memory of the current run's process group; `null` when no run is in progress (or without `/proc`). */
  usage: ProcessUsage.nullable(),
});
export type ProcessHealth = z.infer<typeof ProcessHealth>;
