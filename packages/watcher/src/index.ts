export { type Duration, OptionsError } from "@specter/core";
export {
  CloneError,
  PollTimeoutError,
  SourceLoadError,
  WatcherError,
  WorkerExitError,
} from "./errors.ts";
export { WorkerPool, type WorkerPoolOptions, type WorkerPoolStats } from "./pool.ts";
export type {
  ErrorPhase,
  Isolation,
  ModuleSource,
  PollFunction,
  PollOptions,
  SourceContext,
  StreamFunction,
  StreamLike,
  StreamOptions,
  Subscriber,
  WatcherHealth,
  WatcherMode,
  WatcherOptions,
  WatcherState,
} from "./types.ts";
export { Watcher, type WatcherEvents } from "./watcher.ts";
