/**
 * The restart policy: whether a process that ended by itself starts again, after how long, and
 * when to give up — more than `maxRestarts` restarts within a sliding `window` (systemd's
 * StartLimitBurst / StartLimitIntervalSec, OTP's restart intensity). Delays grow exponentially
 * (shared `Backoff`) and start over after a run that stayed up for a whole window.
 */
import { Backoff } from "@specter/core";
import type { RestartConfig } from "./options.ts";

export type RestartDecision =
  | { action: "none" }
  | { action: "restart"; delay: number }
  | { action: "giveUp" };

export class RestartTracker {
  readonly #config: RestartConfig;
  readonly #backoff: Backoff;
  /** performance.now() of the restarts within the window. */
  #recent: number[] = [];
  /** Restarts since `reset()`. */
  total = 0;

  constructor(config: RestartConfig) {
    this.#config = config;
    this.#backoff = new Backoff({ initial: config.initialBackoff, max: config.maxBackoff });
  }

  /** A fresh `start()`: forget earlier restarts. */
  reset(): void {
    this.#recent = [];
    this.total = 0;
    this.#backoff.reset();
  }

  /**
   * Decides after an unexpected end. `failed` is a non-zero exit, a death by signal or a spawn that
   * failed; `uptime` is how long the run lasted (0 when it never spawned).
   */
  decide(failed: boolean, uptime: number, now = performance.now()): RestartDecision {
    const { policy, maxRestarts, window } = this.#config;
    if (policy === "no" || (policy === "on-failure" && !failed)) return { action: "none" };
    this.#recent = this.#recent.filter((at) => now - at < window);
    if (this.#recent.length >= maxRestarts) return { action: "giveUp" };
    if (uptime >= window) this.#backoff.reset();
    this.#recent.push(now);
    this.total++;
    return { action: "restart", delay: this.#backoff.next() };
  }
}
