/**
 * `@specter/core`: the base layer the other Specter packages share. Durations, backoff, option
 * validation, typed events, error and state bookkeeping, the line splitter, `/proc` readers, host
 * signal hooks, and `Scope` (a lifetime as a value). It depends on nothing of ours.
 */
export { Backoff, type BackoffOptions } from "./backoff.ts";
export {
  DURATION_HINT,
  type Duration,
  type DurationUnit,
  formatDuration,
  parseDuration,
  tryParseDuration,
} from "./duration.ts";
export { Emitter, type EventArgs } from "./emitter.ts";
export { SpecterError } from "./errors.ts";
export {
  DEFAULT_SIGNALS,
  type HostSignal,
  type HostSignalOptions,
  handleHostSignals,
  onHostExit,
  raise,
} from "./host.ts";
export {
  type LineInfo,
  type LineOverflow,
  type LineSink,
  LineSplitter,
  WHOLE_LINE,
} from "./lines.ts";
export { Listeners } from "./listeners.ts";
export { messageOf } from "./message.ts";
export {
  backoffSchema,
  checkName,
  durationSchema,
  functionSchema,
  MAX_TIMER_MS,
  MIN_BACKOFF_MS,
  type OptionIssue,
  OptionsError,
  parseOptions,
  showValue,
} from "./options.ts";
export {
  commandLine,
  descendants,
  environVariable,
  type GroupUsage,
  groupHasLiveMember,
  groupUsage,
  isAlive,
  listPids,
  liveProcesses,
  openFds,
  type ProcStat,
  readEnviron,
  readStat,
  threadCount,
  variableOf,
} from "./proc.ts";
export { type LastError, Reporter, StateCell } from "./reporter.ts";
export {
  CleanupError,
  type CleanupOptions,
  type CleanupOwner,
  isCleanupOwner,
  type RunBoundedOptions,
  runBounded,
  Scope,
  type ScopeOptions,
  type ScopeState,
} from "./scope.ts";
export { settlesWithin } from "./timing.ts";
