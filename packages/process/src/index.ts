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
  AbortError,
  type NotReadyReason,
  ProcessError,
  ProcessStateError,
  ReadyError,
  SpawnError,
  StopTimeoutError,
  WaitTimeoutError,
} from "./errors.ts";
export {
  ProcessErrorPhase,
  ProcessExit,
  ProcessHealth,
  ProcessState,
  ProcessUsage,
  StreamStats,
} from "./health.ts";
export { ManagedProcess } from "./managed-process.ts";
export { startProcess } from "./start-process.ts";
export type {
  ChunkCallback,
  CleanupOwner,
  LineCallback,
  ProcessEvents,
  ProcessOptions,
  ProcessReady,
  ReadyPredicate,
  RestartOptions,
  RestartPolicy,
  StartOptions,
  StdioMode,
  StreamName,
  WatchChunksOptions,
  WatchLinesOptions,
  WatchOptions,
} from "./types.ts";
