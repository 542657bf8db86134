export { type Duration, OptionsError } from "@specter/core";
export {
  CloneError,
  PollTimeoutError,
  SourceLoadError,
  WatcherError,
  WorkerExitError,
} from "./errors.ts";
export { ErrorPhase, Isolation, WatcherHealth, WatcherMode, WatcherState } from "./health.ts";
export { WorkerPool, type WorkerPoolOptions, type WorkerPoolStats } from "./pool.ts";
export {
  type FileChange,
  type FileChangesOptions,
  fileChanges,
} from "./sources/file-changes.ts";
export { type TailOptions, tail } from "./sources/tail.ts";
export type {
  ModuleSource,
  PollFunction,
  PollOptions,
  SourceCleanup,
  SourceContext,
  StreamFunction,
  StreamLike,
  StreamOptions,
  Subscriber,
  WatcherOptions,
} from "./types.ts";
export { Watcher, type WatcherEvents } from "./watcher.ts";
