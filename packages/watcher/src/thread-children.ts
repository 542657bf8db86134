/**
 * A terminated Worker whose OS thread is blocked in a native call, and the children that thread
 * spawned. `terminate()` interrupts JavaScript only: a thread in `Bun.spawnSync` waits for its child
 * (and for the child's stdout and stderr to close) however long it runs. Linux lists the children a
 * thread spawned in /proc/self/task/<tid>/children, so the main thread kills them there and the call
 * returns: measured for `Bun.spawnSync(["sleep", "10"])`, the thread ended 4 ms after its child was
 * killed. `Bun.sleepSync` and other native calls have no child to kill and still run to their end.
 * Main thread only (it reads /proc through @specter/core). Internal; see host-worker.ts.
 */
import { existsSync, readFileSync } from "node:fs";
import { descendants, readStat } from "@specter/core";

/** An OS thread of this process: its tid and start time name it for good (a tid can be reused). */
export interface OsThread {
  tid: number;
  start: number;
}

/** What `freeStuckThread` watches: a terminated Worker. */
export interface StuckCandidate {
  /** Its OS thread, once the Worker reported it. */
  readonly thread: OsThread | undefined;
  /** Its `close` event was seen. */
  readonly closed: boolean;
}

/**
 * How long a terminated Worker's thread may take to end before its children are killed: a worker
 * spinning in `for (;;) {}` sent its `close` 5–7 ms after `terminate()` here, so a thread still
 * there after 100 ms is blocked in a native call.
 */
export const STUCK_GRACE = 100;
/** Between two looks at a thread that is still running. */
const ROUND_MS = 250;

/** A process named by pid and start time. */
interface Proc {
  pid: number;
  start: number;
}

/** The thread `tid` of this process as it is now, or `undefined` (gone, or no /proc). */
export function osThread(tid: number): OsThread | undefined {
  if (!existsSync(`/proc/self/task/${tid}`)) return undefined;
  const start = readStat(tid)?.startTime;
  return start === undefined ? undefined : { tid, start };
}

/** Whether `thread` still runs (the same thread, not a later one that got its tid). */
export function threadRuns(thread: OsThread): boolean {
  return (
    existsSync(`/proc/self/task/${thread.tid}`) && readStat(thread.tid)?.startTime === thread.start
  );
}

/**
 * Once `worker` was terminated: while its thread is still running after STUCK_GRACE, kills the
 * children that thread spawned (SIGKILL), and looks again every ROUND_MS until it has ended. A
 * child's own children are killed only when killing the child did not end the call (a `sh -c` whose
 * grandchild still holds the pipes `Bun.spawnSync` reads): they were listed before the child was
 * killed, as the kernel then hands them to another parent. The timers keep the host alive: it could
 * not exit before that thread ends anyway (Bun waits for every Worker's thread). Returns what ends
 * the watch, for the Worker's `close` event (so that no pending round holds the host up to 250 ms).
 */
export function freeStuckThread(worker: StuckCandidate): () => void {
  let spawned: Proc[] = [];
  let timer: Timer | undefined;
  const round = () => {
    const thread = worker.thread;
    if (worker.closed || !thread || !threadRuns(thread)) return;
    // Running (state R), it waits for no child: a terminated worker still spinning in a module's
    // top level stays so for seconds here, and reading its children then stalled the faults row of
    // that case (1 death instead of 2, the main thread late by 5 s); it is looked at again later.
    if (readStat(thread.tid)?.state === "R") {
      timer = setTimeout(round, ROUND_MS);
      return;
    }
    // Still running after its children were killed: what they left holds the call.
    for (const proc of spawned) killIfSame(proc);
    spawned = [];
    for (const child of childrenOf(thread)) {
      for (const pid of descendants(child.pid)) {
        const start = readStat(pid)?.startTime;
        if (start !== undefined) spawned.push({ pid, start });
      }
      killIfSame(child);
    }
    timer = setTimeout(round, ROUND_MS);
  };
  timer = setTimeout(round, STUCK_GRACE);
  return () => clearTimeout(timer);
}

/**
 * The live children `thread` spawned. Each must be a child of this process that started after the
 * thread did: a pid read here can be reused only once its process was reaped, by a later one.
 */
function childrenOf(thread: OsThread): Proc[] {
  let text: string;
  try {
    text = readFileSync(`/proc/self/task/${thread.tid}/children`, "latin1");
  } catch {
    return [];
  }
  const found: Proc[] = [];
  for (const word of text.split(" ")) {
    const pid = Number(word);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const stat = readStat(pid);
    if (!stat || stat.state === "Z" || stat.ppid !== process.pid) continue;
    if (stat.startTime < thread.start) continue;
    found.push({ pid, start: stat.startTime });
  }
  return found;
}

/**
 * SIGKILL `proc` if its pid still names it (same start time, not a zombie) and, given `parent`,
 * it is still that process's child.
 */
export function killIfSame(proc: Proc, parent?: number): void {
  const stat = readStat(proc.pid);
  if (!stat || stat.state === "Z" || stat.startTime !== proc.start) return;
  if (parent !== undefined && stat.ppid !== parent) return;
  try {
    process.kill(proc.pid, "SIGKILL");
  } catch {
    // Gone in the meantime.
  }
}
