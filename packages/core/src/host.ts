/**
 * The host's signals and exit, in one place. Every Specter piece that reacts to the host ending —
 * managed processes stopping with it, a registry stopping its services, the demo printing its
 * summary — installs its handlers through here, so they compose the same way: each first signal
 * runs its handler, and the signal is raised again only by the last handler to finish, so the host
 * ends "by the signal" exactly as it would have without any of us.
 */

export type HostSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

export const DEFAULT_SIGNALS: readonly HostSignal[] = ["SIGINT", "SIGTERM"];

export interface HostSignalOptions {
  /** Signals to handle (default SIGINT and SIGTERM). */
  signals?: readonly HostSignal[];
  /** Runs on the first signal; may return a promise (the work of stopping). */
  onSignal: (signal: HostSignal) => unknown;
  /**
   * What happens once `onSignal` has settled: `"reraise"` (default) removes the handlers and, if
   * no other listener for the signal is left, raises it again so the host ends the default way;
   * `"remove"` only removes the handlers; `"keep"` leaves them installed for the next signal.
   */
  after?: "reraise" | "remove" | "keep";
  /**
   * A second signal while `onSignal` runs. Default: stop waiting, remove the handlers and send
   * the signal again at once, even when other handlers are left: they may be waiting for this one
   * to finish (as the managed processes' host hooks do), and each gets the new signal.
   */
  onRepeat?: (signal: HostSignal) => void;
}

/**
 * Installs handlers for the host's signals; returns a function that removes them (idempotent).
 */
export function handleHostSignals(options: HostSignalOptions): () => void {
  // Once each: a signal listed twice would install a second handler that remove() cannot find.
  const signals = [...new Set(options.signals ?? DEFAULT_SIGNALS)];
  const after = options.after ?? "reraise";
  let handling: HostSignal | undefined;
  let installed = true;
  const remove = () => {
    if (!installed) return;
    installed = false;
    for (const signal of signals) process.off(signal, handlers[signal] as () => void);
  };
  const onSignal = (signal: HostSignal) => {
    if (handling) {
      if (options.onRepeat) return options.onRepeat(signal);
      remove();
      // Not raise(): another handler still installed would leave the host running for good.
      process.kill(process.pid, signal);
      return;
    }
    handling = signal;
    Promise.resolve()
      .then(() => options.onSignal(signal))
      .catch((error) => console.error(`[specter] stopping on ${signal} failed:`, error))
      .finally(() => {
        handling = undefined;
        if (after === "keep" || !installed) return;
        remove();
        if (after === "reraise") raise(signal);
      });
  };
  const handlers: Partial<Record<HostSignal, () => void>> = {};
  for (const signal of signals) {
    handlers[signal] = () => onSignal(signal);
    process.on(signal, handlers[signal]);
  }
  return remove;
}

/** Raises `signal` again in this process if nobody else listens for it (ending the host). */
export function raise(signal: HostSignal): void {
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/** Runs `fn` synchronously when the host exits normally; returns a function that removes it. */
export function onHostExit(fn: () => void): () => void {
  process.on("exit", fn);
  return () => {
    process.off("exit", fn);
  };
}
