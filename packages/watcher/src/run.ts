/**
 * What belongs to one `start()` of a watcher, and the fixed-rate poll schedule. Callbacks of an
 * older run see `closed` and do nothing, so a late result of an abandoned poll is never delivered.
 */
import type { PollSession, StreamSession } from "./session.ts";

export interface Run {
  closed: boolean;
  session: PollSession | StreamSession;
  timer: Timer | undefined;
  /** Poll mode: when tick 0 was due, and the last tick polled. */
  anchor: number;
  tick: number;
  retryAt: number | undefined;
}

/**
 * Fixed rate: tick k is due at `anchor + k * interval`. After a poll that ran past one or more
 * ticks, those are skipped (not run back to back): returns the delay to the next tick and how
 * many were skipped, and advances `run.tick`.
 */
export function nextTick(
  run: Pick<Run, "anchor" | "tick">,
  interval: number,
  now: number,
): { delay: number; skipped: number } {
  const next = Math.max(run.tick + 1, Math.floor((now - run.anchor) / interval) + 1);
  const skipped = next - run.tick - 1;
  run.tick = next;
  return { delay: run.anchor + next * interval - now, skipped };
}
