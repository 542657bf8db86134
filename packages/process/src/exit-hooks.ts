/**
 * Host shutdown: while at least one managed process is alive, SIGINT and SIGTERM stop them all
 * (each bounded by its own timeouts) and then the host exits as it would have without us; a plain
 * exit SIGKILLs the survivors' groups. With no live process nothing is installed, so a host (or a
 * test runner) without managed processes behaves normally.
 */

/** What the hooks need from a managed process. */
export interface ShutdownTarget {
  /** Graceful stop (SIGTERM, wait, SIGKILL). */
  shutdown(): Promise<unknown>;
  /** Immediate SIGKILL of the whole group; synchronous. */
  killNow(): void;
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;
type HostSignal = (typeof SIGNALS)[number];

const live = new Set<ShutdownTarget>();
let installed = false;
/** The signal being handled while live processes stop. */
let shuttingDown: HostSignal | undefined;

const handlers: Record<HostSignal, () => void> = {
  SIGINT: () => onSignal("SIGINT"),
  SIGTERM: () => onSignal("SIGTERM"),
};

/** Registers a live process; installs the hooks when it is the first. */
export function registerLive(target: ShutdownTarget): void {
  live.add(target);
  if (!installed) install();
}

/** Forgets a process that is gone; removes the hooks after the last one. */
export function unregisterLive(target: ShutdownTarget): void {
  live.delete(target);
  if (live.size > 0) return;
  if (shuttingDown) finish(shuttingDown);
  else uninstall();
}

/** Whether the SIGINT/SIGTERM/exit hooks are installed right now. */
export function hostHooksInstalled(): boolean {
  return installed;
}

function install(): void {
  installed = true;
  for (const signal of SIGNALS) process.on(signal, handlers[signal]);
  process.on("exit", onExit);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const signal of SIGNALS) process.off(signal, handlers[signal]);
  process.off("exit", onExit);
}

function onSignal(signal: HostSignal): void {
  if (shuttingDown) {
    // A second signal while stopping: do not wait any longer.
    for (const target of live) target.killNow();
    finish(signal);
    return;
  }
  shuttingDown = signal;
  // The last process to go finishes (see unregisterLive); this covers stops that failed.
  Promise.allSettled([...live].map((target) => target.shutdown())).then(() => {
    if (shuttingDown === signal) finish(signal);
  });
}

/** Removes the hooks and, if nobody else handles `signal`, lets it end the host as it would have. */
function finish(signal: HostSignal): void {
  shuttingDown = undefined;
  uninstall();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  else if (live.size > 0) install(); // someone else handles it and the host goes on
}

function onExit(): void {
  for (const target of live) target.killNow();
  live.clear();
}
