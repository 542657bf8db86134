/**
 * A wake-up call for a source that sleeps between checks: a file-system event, the poll interval
 * or the stop signal, whichever comes first. An event that comes while the source is busy is
 * remembered, so the next sleep returns at once instead of missing it.
 */
export class Wake {
  #pending = false;
  #resolve: (() => void) | undefined;

  /** Something happened: ends the current sleep, or the next one at once. */
  readonly notify = (): void => {
    const resolve = this.#resolve;
    if (resolve) resolve();
    else this.#pending = true;
  };

  /** Sleeps until `notify()`, `ms` milliseconds or the abort of `signal`; leaves no timer behind. */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (this.#pending || signal.aborted) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#resolve = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      this.#resolve = done;
    });
  }
}
