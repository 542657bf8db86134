/**
 * Exponential backoff: `initial`, doubling per consecutive failure up to `max`, optionally jittered,
 * and reset by the next success. Shared by watchers (retry) and processes (restart).
 */
export interface BackoffOptions {
  /** First delay in milliseconds. */
  initial: number;
  /** Largest delay in milliseconds. */
  max: number;
  /**
   * Fraction of each delay that is randomised, 0 to 1. `0.5` picks a delay uniformly between
   * half and all of the nominal delay; `1` is "full jitter" (between 0 and the nominal delay).
   */
  jitter?: number;
  /** Random source in [0, 1); tests may pass a fixed one. */
  random?: () => number;
}

export class Backoff {
  #attempt = 0;
  readonly #initial: number;
  readonly #max: number;
  readonly #jitter: number;
  readonly #random: () => number;

  constructor(options: BackoffOptions) {
    this.#initial = options.initial;
    this.#max = Math.max(options.max, options.initial);
    this.#jitter = Math.min(1, Math.max(0, options.jitter ?? 0));
    this.#random = options.random ?? Math.random;
  }

  /** Consecutive failures counted since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The nominal (unjittered) delay the next call to `next()` is based on. */
  peek(): number {
    // 2 ** 30 is already past any sane max; capping the exponent avoids Infinity.
    return Math.min(this.#max, this.#initial * 2 ** Math.min(this.#attempt, 30));
  }

  /** Counts a failure and returns how long to wait before trying again, in milliseconds. */
  next(): number {
    const nominal = this.peek();
    this.#attempt++;
    return nominal * (1 - this.#jitter * this.#random());
  }

  /** Forgets the failures: the next delay is `initial` again. */
  reset(): void {
    this.#attempt = 0;
  }
}
