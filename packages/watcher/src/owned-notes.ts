/**
 * The Worker's half of owned-pids.ts: notes of the subprocesses a session registers with
 * `onClose`, posted on a BroadcastChannel. Apart so that a Worker does not load the main thread's
 * /proc readers (all of @specter/core) at start-up. Internal.
 */
import type { CleanupWatch } from "./cleanups.ts";

export const CHANNEL = "specter-watcher-owned-pids";

export interface Note {
  id: number;
  pid: number;
  owned: boolean;
}

/** In a Worker: a watch per session that tells the main thread of its registered children. */
export function announceOwned(): (id: number) => CleanupWatch {
  let channel: BroadcastChannel | undefined;
  const note = (id: number, pid: number, owned: boolean) => {
    channel ??= new BroadcastChannel(CHANNEL);
    channel.postMessage({ id, pid, owned } satisfies Note);
  };
  return (id) => ({
    added: (pid) => note(id, pid, true),
    removed: (pid) => note(id, pid, false),
  });
}
