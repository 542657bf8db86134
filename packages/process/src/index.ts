export { type Duration, OptionsError } from "@specter/watcher/shared";
export {
  ProcessError,
  type ProcessErrorPhase,
  ProcessStateError,
  SpawnError,
  StopTimeoutError,
  WaitTimeoutError,
} from "./errors.ts";
export {
  type LineInfo,
  type LineOverflow,
  type LineSink,
  LineSplitter,
  WHOLE_LINE,
} from "./lines.ts";
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
