/**
 * Durations: a number of milliseconds, or a string such as "250ms", "2s", "5m", "1h" or "1m30s".
 *
 * Written by hand rather than taken from `ms`/`parse-duration`: it is twenty lines, the design card
 * fixes the dependency list, and we want the exact grammar (no bare numeric strings, no negatives)
 * that our error messages promise.
 */

export type DurationUnit = "ms" | "s" | "m" | "h" | "d";

/** A number of milliseconds, or a string like `"250ms"`, `"2s"`, `"5m"`, `"1h"`, `"1m30s"`. */
export type Duration = number | `${number}${DurationUnit}` | (string & {});

const UNIT_MS: Record<DurationUnit, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const PART = /(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)/y;

/** What a valid duration looks like, for error messages. */
export const DURATION_HINT =
  'milliseconds as a number, or a string like "250ms", "2s", "5m", "1m30s"';

/** Parses a duration to milliseconds; returns `undefined` when the value is not a duration. */
export function tryParseDuration(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  PART.lastIndex = 0;
  let total = 0;
  while (PART.lastIndex < text.length) {
    const start = PART.lastIndex;
    const match = PART.exec(text);
    if (!match || match.index !== start) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2] as DurationUnit];
    while (text[PART.lastIndex] === " ") PART.lastIndex++;
  }
  return total;
}

/** Parses a duration to milliseconds, or throws a `TypeError` that shows the accepted forms. */
export function parseDuration(value: Duration, name = "duration"): number {
  const ms = tryParseDuration(value);
  if (ms === undefined) {
    throw new TypeError(
      `${name}: ${JSON.stringify(value)} is not a duration; use ${DURATION_HINT}`,
    );
  }
  return ms;
}

/** Formats milliseconds for humans: 950 -> "950ms", 2500 -> "2.5s", 90000 -> "1.5m". */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1_000).toFixed(2)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(2)}m`;
  return `${+(ms / 3_600_000).toFixed(2)}h`;
}
