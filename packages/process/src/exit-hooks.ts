/**
 * Host shutdown for managed processes: while at least one is alive, SIGINT and SIGTERM stop them
 * all (each bounded by its own timeouts) and then the host ends as it would have without us; a
 * plain exit SIGKILLs the survivors' trees (and the orphan guard, seeing the host gone, sweeps
 * once more). With no live process nothing is installed, so a host (or a test runner) without
 * managed processes behaves normally. The signal plumbing itself is `@specter/core`'s
 * `handleHostSignals`, shared with `Registry.handleSignals`.
 */
import { type HostSignal, handleHostSignals, onHostExit, raise } from "@specter/core";

/** What the hooks need from a managed process. */
export interface ShutdownTarget {
  /** Graceful stop (SIGTERM, wait, SIGKILL). */
  shutdown(): Promise<unknown>;
  /** Immediate SIGKILL of the whole tree (group, session, marked processes); synchronous. */
  killNow(): void;
}

const live = new Set<ShutdownTarget>();
let removeHooks: (() => void) | undefined;
/** The signal being handled while live processes stop. */
let shuttingDown: HostSignal | undefined;

/** Registers a live process; installs the hooks when it is the first. */
export function registerLive(target: ShutdownTarget): void {
  live.add(target);
  if (!removeHooks) install();
}

/**
 * Forgets a process that is gone; removes the hooks after the last one. During a host shutdown the
 * last process to go finishes it at once, before its stop() resolves.
 */
export function unregisterLive(target: ShutdownTarget): void {
  live.delete(target);
  if (live.size > 0) return;
  if (shuttingDown) finish(shuttingDown);
  else uninstall();
}

/** Whether the SIGINT/SIGTERM/exit hooks are installed right now. */
export function hostHooksInstalled(): boolean {
  return removeHooks !== undefined;
}

function install(): void {
  const removeSignals = handleHostSignals({
    after: "remove",
    onSignal: async (signal) => {
      shuttingDown = signal;
      // The last process to go finishes (see unregisterLive); this covers stops that failed.
      await Promise.allSettled([...live].map((target) => target.shutdown()));
      finish(signal);
    },
    // A second signal while stopping: do not wait any longer.
    onRepeat: (signal) => {
      for (const target of live) target.killNow();
      shuttingDown = signal;
      finish(signal);
    },
  });
  const removeExit = onHostExit(() => {
    for (const target of live) target.killNow();
    live.clear();
  });
  removeHooks = () => {
    removeSignals();
    removeExit();
  };
}

function uninstall(): void {
  removeHooks?.();
  removeHooks = undefined;
}

/** Removes the hooks and lets `signal` end the host, unless someone else handles it. */
function finish(signal: HostSignal): void {
  if (shuttingDown !== signal) return;
  shuttingDown = undefined;
  uninstall();
  if (process.listenerCount(signal) === 0) raise(signal);
  else if (live.size > 0) install(); // someone else handles it and the host goes on
}
