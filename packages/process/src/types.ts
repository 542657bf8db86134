import type { Duration, LineInfo, LineOverflow } from "@specter/core";
import type { ProcessError } from "./errors.ts";
import type { ProcessExit, ProcessState } from "./health.ts";

export type { ProcessExit, ProcessHealth, ProcessState, StreamStats } from "./health.ts";

/** The two output streams a managed process can watch. */
export type StreamName = "stdout" | "stderr";

/** Where a standard stream goes: a pipe this process reads, the host's own stream, or nowhere. */
export type StdioMode = "pipe" | "inherit" | "ignore";

/** When a process that ended by itself is started again. */
export type RestartPolicy = "no" | "on-failure" | "always";

export interface RestartOptions {
  /**
   * `"no"` (default): never. `"on-failure"`: after a non-zero exit code or death by a signal
   * it was not sent by `stop()`. `"always"`: after any exit not caused by `stop()`.
   */
  policy?: RestartPolicy;
  /** Restarts allowed within `window`; one more exit in that window gives up (default 5). */
  maxRestarts?: number;
  /** The sliding window `maxRestarts` counts in (default "60s"). */
  window?: Duration;
  /** Delay before the first restart; doubles per consecutive restart (default "500ms"). */
  initialBackoff?: Duration;
  /** Largest delay between restarts (default "30s"). */
  maxBackoff?: Duration;
}

/** Says whether an output line means the process is ready to serve. */
export type ReadyPredicate = (line: string, stream: StreamName) => boolean;

export interface ProcessOptions {
  /** How long `stop()` waits after `killSignal` before it sends SIGKILL (default "5s"). */
  terminateTimeout?: Duration;
  /** How long `stop()` waits after SIGKILL before it gives up with a `StopTimeoutError` (default "1s"). */
  killTimeout?: Duration;
  /**
   * The signal of the graceful step of `stop()`, sent to the whole group before SIGKILL: any
   * name of `os.constants.signals` (default "SIGTERM"; nginx wants "SIGQUIT", many servers
   * "SIGINT").
   */
  killSignal?: NodeJS.Signals;
  /**
   * Longest a run may last: past it, the run is stopped like `stop()` would (`killSignal`, wait,
   * SIGKILL) and its exit says `timedOut: true`. It counts as a failure for the restart policy.
   * Default: no limit.
   */
  timeout?: Duration;
  /**
   * When a run is ready: a `RegExp` tested on each line of the piped output streams, or a
   * predicate `(line, stream) => boolean`. Until a line matches the state is "starting", and
   * `proc.ready` resolves when one does. Requires stdout or stderr to be piped.
   */
  ready?: RegExp | ReadyPredicate;
  /**
   * How long a run may take to print its ready line (default "30s"); past it, `proc.ready`
   * rejects and the run is stopped (`timedOut: true`, a failure for the restart policy). Only
   * with `ready`.
   */
  readyTimeout?: Duration;
  /** Restart after unexpected exits: a policy name, or the policy with its limits (default "no"). */
  restart?: RestartPolicy | RestartOptions;
  /**
   * Stop this process when the host gets SIGINT or SIGTERM (then let the host exit as it would
   * have), and SIGKILL it when the host exits. Default true; false leaves that to you.
   */
  hostShutdown?: boolean;
}

/** What `proc.ready` resolves with. */
export interface ProcessReady {
  /** The run's pid. */
  pid: number;
  /** The line that matched `ready`; `null` without a `ready` option (ready at spawn). */
  line: string | null;
  stream: StreamName | null;
  /** Milliseconds from spawn to ready. */
  after: number;
}

export interface StartOptions {
  /** Working directory of the child (default: the host's). */
  cwd?: string;
  /**
   * Variables for the child, on top of `process.env` (read at each spawn); a variable set to
   * `undefined` is left out. With `extendEnv: false`, the child's whole environment.
   */
  env?: Record<string, string | undefined>;
  /** `false`: `env` replaces `process.env` instead of extending it (default true). */
  extendEnv?: boolean;
  /** Default "ignore" ("pipe" with `input`). With "pipe", write to `proc.stdin`. */
  stdin?: StdioMode;
  /** Default "inherit". Use "pipe" to `watchStream("stdout", ...)`; a pipe nobody reads fills memory. */
  stdout?: StdioMode;
  /** Default "inherit". Use "pipe" to `watchStream("stderr", ...)`. */
  stderr?: StdioMode;
  /**
   * Written to the child's stdin, which is then closed (each restart gets it again). Pipes stdin
   * (`stdin` may only be "pipe" or left out), and `proc.stdin` is then `null`.
   */
  input?: string | Uint8Array;
  /**
   * Stops the process (like `stop()`) when aborted. Already aborted: `start()` throws an
   * `AbortError` and starts nothing. Covers the restarts of this `start()`.
   */
  signal?: AbortSignal;
}

export interface WatchLinesOptions {
  /** `"lines"` (default): one call per line, as a string without its ending. */
  mode?: "lines";
  /** Longest line held in memory, in UTF-16 code units (default 1 MiB = 1_048_576). */
  maxLineLength?: number;
  /** A longer line is delivered in pieces (`"split"`, default) or cut (`"truncate"`). */
  overflow?: LineOverflow;
}

export interface WatchChunksOptions {
  /** `"chunks"`: raw bytes as they arrive, for binary output. Do not mutate the chunks. */
  mode: "chunks";
}

export type WatchOptions = WatchLinesOptions | WatchChunksOptions;

export type LineCallback = (line: string, info: LineInfo) => unknown;
export type ChunkCallback = (chunk: Uint8Array) => unknown;

/** The events of a managed process and their listener arguments. */
export type ProcessEvents = {
  /** A child was spawned (first start and every restart). */
  spawn: [info: { pid: number; restarts: number }];
  /** A child ended (its process group is gone and its streams are read to the end). */
  exit: [exit: ProcessExit];
  /** It ended unexpectedly and will be restarted after `delay` ms. */
  restart: [info: { restarts: number; delay: number; exit: ProcessExit | null }];
  /** It exited more than `maxRestarts` times within `window`: no more restarts, state `failed`. */
  giveUp: [info: { restarts: number; window: number; exit: ProcessExit | null }];
  /** Something went wrong that has no caller to throw to. */
  error: [error: ProcessError];
  state: [state: ProcessState, previous: ProcessState];
};

/** Something that stops what is attached to it: a `Scope`, a `Service`, a test fixture, ... */
export type { CleanupOwner } from "@specter/core";
