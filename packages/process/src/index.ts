export {
  type Duration,
  type LineInfo,
  type LineOverflow,
  type LineSink,
  LineSplitter,
  OptionsError,
  WHOLE_LINE,
} from "@specter/core";
export {
  ProcessError,
  type ProcessErrorPhase,
  ProcessStateError,
  SpawnError,
  StopTimeoutError,
  WaitTimeoutError,
} from "./errors.ts";
export { ManagedProcess, startProcess } from "./managed-process.ts";
export type {
  ChunkCallback,
  CleanupOwner,
  LineCallback,
  ProcessEvents,
  ProcessExit,
  ProcessHealth,
  ProcessOptions,
  ProcessState,
  RestartOptions,
  RestartPolicy,
  StartOptions,
  StdioMode,
  StreamName,
  StreamStats,
  WatchChunksOptions,
  WatchLinesOptions,
  WatchOptions,
} from "./types.ts";
