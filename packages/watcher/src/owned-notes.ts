/**
 * The Worker's half of owned-pids.ts: notes of the subprocesses and file descriptors a session
 * registers with `onClose`, posted on a BroadcastChannel. Apart so that a Worker does not load the
 * main thread's /proc readers (all of @specter/core) at start-up. Internal.
 */
import type { CleanupWatch, Held } from "./cleanups.ts";
import { fdIdentity } from "./fd-identity.ts";

export const CHANNEL = "specter-watcher-owned-pids";

export type Note =
  | { id: number; pid: number; owned: boolean }
  | {
      id: number;
      fd: number;
      owned: boolean;
      /** The Worker's OS thread: the main thread closes the fd only once it has ended. */
      tid: number;
      /** `fdIdentity()` at registration. */
      file: string;
    };

/**
 * In a Worker: a watch per session that tells the main thread of what it registered. `tid` is the
 * Worker's OS thread (`threadId()`), `undefined` without /proc: then no fd is noted.
 */
export function announceOwned(tid: number | undefined): (id: number) => CleanupWatch {
  let channel: BroadcastChannel | undefined;
  /** Each noted fd's identity, by `id:fd`: a removal is noted only for what was noted. */
  const files = new Map<string, string>();
  const post = (note: Note) => {
    channel ??= new BroadcastChannel(CHANNEL);
    channel.postMessage(note);
  };
  const note = (id: number, held: Held, owned: boolean) => {
    if ("pid" in held) {
      post({ id, pid: held.pid, owned });
      return;
    }
    const key = `${id}:${held.fd}`;
    let file = files.get(key);
    if (!owned) {
      if (file === undefined || tid === undefined) return;
      files.delete(key);
    } else {
      // Standard streams are the host's; without /proc nothing tells when the thread has ended.
      file = held.fd > 2 && tid !== undefined ? fdIdentity(held.fd) : undefined;
      if (file === undefined || tid === undefined) return;
      files.set(key, file);
    }
    post({ id, fd: held.fd, owned, tid, file });
  };
  return (id) => ({
    added: (held) => note(id, held, true),
    removed: (held) => note(id, held, false),
  });
}
