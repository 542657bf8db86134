/**
 * File descriptors that sources in Workers registered with `context.onClose`, closed by the main
 * thread when their Worker was killed before its cleanups ran. A Worker shares the host's fd table:
 * while its thread lives, the number is its own (closing it under a running thread could hand the
 * number to someone else while the thread still uses it); once the thread has ended, nobody else
 * can get that number until it is closed. So an fd is closed only after its Worker's OS thread has
 * ended, and only while the number still names the file it named at registration (device, inode
 * and open flags): a source that closed it itself without unregistering, just before it was killed,
 * may have let the host reopen the number. Internal; see owned-pids.ts for the notes.
 */
import { closeSync } from "node:fs";
import { fdIdentity } from "./fd-identity.ts";
import { type OsThread, osThread, threadRuns } from "./thread-children.ts";

interface OwnedFd {
  fd: number;
  tid: number;
  file: string;
}

/** Session id → fd → what it named, as the Worker noted it. */
const noted = new Map<number, Map<number, OwnedFd>>();
/** Released by sessions whose Worker went away, by `id:fd`, until their thread has ended. */
const orphans = new Map<string, OwnedFd>();
/** Each noting thread, its start time read when first heard of: tells a reused tid from it. */
const threads = new Map<number, OsThread>();
/** While some thread is still running (blocked in a native call), its orphans are retried. */
let retry: Timer | undefined;
const RETRY_MS = 250;

/** Keeps (or forgets) the fd a Worker's session noted. */
export function noteFd(id: number, fd: number, tid: number, file: string, owned: boolean): void {
  if (!owned) {
    const fds = noted.get(id);
    fds?.delete(fd);
    if (fds?.size === 0) noted.delete(id);
    // A note that overtook nothing: the fd was released already and is waiting for its thread.
    orphans.delete(`${id}:${fd}`);
    return;
  }
  if (!threads.has(tid)) {
    const thread = osThread(tid);
    if (!thread) return;
    threads.set(tid, thread);
  }
  let fds = noted.get(id);
  if (!fds) {
    fds = new Map();
    noted.set(id, fds);
  }
  fds.set(fd, { fd, tid, file });
}

/**
 * Session `id`'s Worker went away (or the session closed): closes the fds it still noted once their
 * thread has ended. Resolves after a first pass; fds of a thread still running are retried.
 */
export async function releaseFds(id: number): Promise<void> {
  const fds = noted.get(id);
  noted.delete(id);
  for (const owned of fds?.values() ?? []) orphans.set(`${id}:${owned.fd}`, owned);
  // Also those released when its Worker was killed: by its close, that thread has usually ended.
  if (orphans.size > 0) await closeOrphans();
}

async function closeOrphans(): Promise<void> {
  // A note the Worker posted before it ended can arrive after its later messages (577 times in
  // 2,000 here), but it had arrived by the next turn every time, and always by its `close` event.
  await new Promise((resolve) => setImmediate(resolve));
  for (const [key, owned] of orphans) {
    if (runs(owned.tid)) continue;
    orphans.delete(key);
    if (fdIdentity(owned.fd) !== owned.file) continue;
    try {
      closeSync(owned.fd);
    } catch {
      // Closed in the meantime.
    }
  }
  for (const tid of threads.keys()) if (!runs(tid)) threads.delete(tid);
  if (orphans.size === 0 || retry) return;
  retry = setTimeout(() => {
    retry = undefined;
    void closeOrphans();
  }, RETRY_MS);
  retry.unref();
}

function runs(tid: number): boolean {
  const thread = threads.get(tid);
  return thread !== undefined && threadRuns(thread);
}
