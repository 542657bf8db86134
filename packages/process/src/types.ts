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

export interface ProcessOptions {
  /** How long `stop()` waits after SIGTERM before it sends SIGKILL (default "5s"). */
  terminateTimeout?: Duration;
  /** How long `stop()` waits after SIGKILL before it gives up with a `StopTimeoutError` (default "1s"). */
  killTimeout?: Duration;
  /** Restart after unexpected exits: a policy name, or the policy with its limits (default "no"). */
  restart?: RestartPolicy | RestartOptions;
  /**
   * Stop this process when the host gets SIGINT or SIGTERM (then let the host exit as it would
   * have), and SIGKILL it when the host exits. Default true; false leaves that to you.
   */
  hostShutdown?: boolean;
}

export interface StartOptions {
  /** Working directory of the child (default: the host's). */
  cwd?: string;
  /** The child's whole environment (default: `process.env`). Spread `process.env` to extend it. */
  env?: Record<string, string | undefined>;
  /** Default "ignore". With "pipe", write to `proc.stdin`. */
  stdin?: StdioMode;
  /** Default "inherit". Use "pipe" to `watchStream("stdout", ...)`; a pipe nobody reads fills memory. */
  stdout?: StdioMode;
  /** Default "inherit". Use "pipe" to `watchStream("stderr", ...)`. */
  stderr?: StdioMode;
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
