/**
 * Subprocesses and file descriptors that sources in Workers registered with `context.onClose`,
 * known to the main thread so it can end them when the Worker cannot: a killed Worker runs no more
 * code, and what it opened belongs to the host process (a Worker is a thread of it). Its registered
 * children are killed here (SIGKILL, after checking that the pid is still that child of this
 * process, by its start time); its registered fds are closed by owned-fds.ts. What it did not
 * register leaks: a source that holds such things should use `isolation: "process"`.
 *
 * The notes travel on a BroadcastChannel rather than the Worker's own port so that one posted just
 * before the Worker hangs still arrives, and so that the main side needs no change to how a
 * session's messages are routed. Internal.
 */
import { readStat } from "@specter/core";
import { noteFd, releaseFds } from "./owned-fds.ts";
import { CHANNEL, type Note } from "./owned-notes.ts";
import { killIfSame } from "./thread-children.ts";

let listener: BroadcastChannel | undefined;
/** Session id → pid → start time. */
const owned = new Map<number, Map<number, number>>();

/** On the main thread: starts keeping the notes (once; the channel does not hold the host open). */
export function listenForOwned(): void {
  if (listener) return;
  listener = new BroadcastChannel(CHANNEL);
  (listener as BroadcastChannel & { unref?(): void }).unref?.();
  listener.addEventListener("message", (event) => {
    const note = (event as MessageEvent<Note>).data;
    if ("fd" in note) {
      noteFd(note.id, note.fd, note.tid, note.file, note.owned);
      return;
    }
    const { id, pid, owned: isOwned } = note;
    let pids = owned.get(id);
    if (isOwned) {
      // Its start time, read here (the Worker stays free of /proc readers): the child was just
      // spawned, so the pid is still it; later the pair tells it from a process that reused the pid.
      const start = readStat(pid)?.startTime;
      if (start === undefined) return;
      if (!pids) {
        pids = new Map();
        owned.set(id, pids);
      }
      pids.set(pid, start);
    } else if (pids) {
      pids.delete(pid);
      if (pids.size === 0) owned.delete(id);
    }
  });
}

/**
 * Ends what session `id` registered and did not release (its Worker died before its cleanups
 * ran), and forgets it: its children at once, its fds once its Worker's thread has ended (the
 * promise settles after a first pass).
 */
export function releaseOwned(id: number): Promise<void> {
  killOwned(id);
  return releaseFds(id);
}

function killOwned(id: number): void {
  const pids = owned.get(id);
  if (!pids) return;
  owned.delete(id);
  for (const [pid, start] of pids) killIfSame({ pid, start }, process.pid);
}
