/**
 * Pieces shared by the Specter packages: durations, backoff, option validation and isolated
 * listener sets. Public so that `@specter/process` and `@specter/service` reuse them.
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
export { Listeners } from "./listeners.ts";
export { messageOf } from "./message.ts";
export {
  durationSchema,
  functionSchema,
  MAX_TIMER_MS,
  type OptionIssue,
  OptionsError,
  parseOptions,
  showValue,
} from "./options.ts";
export { settlesWithin } from "./timing.ts";
