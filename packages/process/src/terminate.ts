/**
 * Signals to a whole process group, and the SIGTERM -> wait -> SIGKILL -> wait sequence.
 *
 * The group outlives its leader while any member lives, and Linux does not reuse a pid while it
 * names a live group, so `kill(-pgid)` after the leader exited still reaches only its tree.
 */
import { groupHasLiveMember } from "@specter/core";

/** Sends `signal` to every process of group `pgid`; `false` when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "ESRCH") return false;
    throw error;
  }
}

/**
 * Whether group `pgid` still has a live member. `kill(-pgid, 0)` also counts zombies (reparented
 * grandchildren that init has not reaped yet, which on some hosts takes a second), so when it
 * says yes, /proc decides.
 */
export function groupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  return groupHasLiveMember(pgid) ?? true; // no /proc (macOS): trust kill()
}

export interface TerminateOptions {
  terminateTimeout: number;
  killTimeout: number;
}

export type TerminateResult = "exited" | "killed" | "stuck";

const POLL_MS = 10;

/** The group's leader: `exited` settles once it has been reaped; `gone()` says whether it has. */
export interface Leader {
  exited: Promise<unknown>;
  gone(): boolean;
}

/**
 * SIGTERM to the group, wait until the leader has exited and the group is empty (at most
 * `terminateTimeout`), then SIGKILL to the group and wait again (at most `killTimeout`).
 */
export async function terminateGroup(
  pgid: number,
  leader: Leader,
  options: TerminateOptions,
): Promise<TerminateResult> {
  const done = () => leader.gone() && !groupAlive(pgid);
  if (done()) return "exited";
  signalGroup(pgid, "SIGTERM");
  if (await until(done, leader, options.terminateTimeout)) return "exited";
  signalGroup(pgid, "SIGKILL");
  if (await until(done, leader, options.killTimeout)) return "killed";
  return "stuck";
}

/** SIGKILL to the group, synchronously (for the host's exit hook). */
export function killGroupNow(pgid: number): void {
  try {
    signalGroup(pgid, "SIGKILL");
  } catch {
    // Nothing more can be done while the host exits.
  }
}

/** Waits until `done()` or `ms` pass: wakes when the leader exits, else polls (for the group). */
async function until(done: () => boolean, leader: Leader, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (done()) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    let timer: Timer | undefined;
    const tick = new Promise((resolve) => {
      timer = setTimeout(resolve, Math.min(POLL_MS, left));
    });
    await (leader.gone() ? tick : Promise.race([leader.exited.catch(() => {}), tick]));
    clearTimeout(timer);
  }
}
