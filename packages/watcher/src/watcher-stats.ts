/**
 * A watcher's counters, its backoff, and the `health()` built from them: kept apart from the loop
 * (watcher.ts), which only tells them what happened. Internal.
 */
import { Backoff } from "@specter/core";
import type { Delivery } from "./delivery.ts";
import type { WatcherConfig } from "./options.ts";
import type { PollSession, StreamSession } from "./session.ts";
import type { Isolation, WatcherHealth, WatcherMode, WatcherState } from "./types.ts";
import { WorkerSession } from "./worker-session.ts";

export class WatcherStats {
  startedAt: number | null = null;
  errorCount = 0;
  /** Failures since the last success; drives the backoff. */
  consecutive = 0;
  skipped = 0;
  workerRestarts = 0;
  lastWorkerRestart: WatcherHealth["lastWorkerRestart"] = null;
  /**
   * The session of the run that failed or ended, until the next start: whether its source was
   * quarantined or left an unkillable thread stays readable after the loop gave up.
   */
  finished: PollSession | StreamSession | undefined;
  /** Made at the first failure: most watchers never retry. */
  #backoff: Backoff | undefined;

  /** A run starts: the failure streak and the backoff start over. */
  started(): void {
    this.startedAt = Date.now();
    this.#backoff?.reset();
    this.consecutive = 0;
    this.finished = undefined;
  }

  succeeded(): void {
    if (this.consecutive !== 0 || (this.#backoff !== undefined && this.#backoff.attempt !== 0)) {
      this.consecutive = 0;
      this.#backoff?.reset();
    }
  }

  failed(): void {
    this.errorCount++;
    this.consecutive++;
  }

  /** The delay before the next retry. */
  nextDelay(config: WatcherConfig): number {
    this.#backoff ??= new Backoff({
      initial: config.initialBackoff,
      max: config.maxBackoff,
      jitter: config.jitter,
    });
    return this.#backoff.next();
  }

  restarted(reason: string): void {
    this.workerRestarts++;
    this.lastWorkerRestart = { reason, at: Date.now() };
  }
}

/** What `health()` reads besides the stats. */
export interface HealthParts {
  name: string;
  mode: WatcherMode;
  state: WatcherState;
  isolation: Isolation;
  feed: { callbackErrors: number; last: WatcherHealth["lastError"]; values: { size: number } };
  delivery: Delivery<unknown>;
  /** The running session, if any. */
  session: PollSession | StreamSession | undefined;
  retryAt: number | undefined;
}

export function healthOf(stats: WatcherStats, parts: HealthParts): WatcherHealth {
  const { feed, delivery, retryAt } = parts;
  const session = parts.session ?? stats.finished;
  const worker = session instanceof WorkerSession ? session : undefined;
  return {
    name: parts.name,
    mode: parts.mode,
    state: parts.state,
    isolation: parts.isolation,
    errorCount: stats.errorCount,
    consecutiveErrors: stats.consecutive,
    callbackErrors: feed.callbackErrors,
    lastError: feed.last,
    lastValueAt: delivery.lastValueAt,
    delivered: delivery.delivered,
    deduped: delivery.deduped,
    uptime: stats.startedAt === null ? 0 : Date.now() - stats.startedAt,
    subscribers: feed.values.size,
    skippedTicks: stats.skipped,
    workerRestarts: stats.workerRestarts,
    lastWorkerRestart: stats.lastWorkerRestart,
    quarantined: worker?.quarantined ?? false,
    unkillable: worker?.unkillable ?? false,
    nextRetryIn:
      retryAt === undefined ? null : Math.max(0, Math.round(retryAt - performance.now())),
  };
}
