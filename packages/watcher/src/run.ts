/**
 * What belongs to one `start()` of a watcher, and the fixed-rate poll schedule. Callbacks of an
 * older run see `closed` and do nothing, so a late result of an abandoned poll is never delivered.
 */
import type { PollSession, StreamSession } from "./session.ts";
import type { Due } from "./ticker.ts";

/** Its next tick or retry is a deadline on the shared ticker (`at`, `slot`, `due`). */
export interface Run extends Due {
  closed: boolean;
  session: PollSession | StreamSession;
  /** Poll mode: when tick 0 was due, and the last tick polled. */
  anchor: number;
  tick: number;
  retryAt: number | undefined;
}

/**
 * Fixed rate: tick k is due at `anchor + k * interval`. After a poll that ran past one or more
 * ticks, those are skipped (not run back to back): advances `run.tick` to the next tick, due at
 * `anchor + run.tick * interval`, and returns how many were skipped.
 */
export function nextTick(run: Pick<Run, "anchor" | "tick">, interval: number, now: number): number {
  const next = Math.max(run.tick + 1, Math.floor((now - run.anchor) / interval) + 1);
  const skipped = next - run.tick - 1;
  run.tick = next;
  return skipped;
}
