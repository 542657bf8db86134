/**
 * The end of a run's whole tree (see run-tree.ts: its group, its session, its marked processes
 * and their descendants): `killSignal` (default SIGTERM) to all of it, wait until the leader has
 * been reaped and nothing of it lives (at most `terminateTimeout`), then SIGKILL and wait again
 * (at most `killTimeout`). The waiting is one shared `/proc` scan per tick (tree-watch.ts).
 *
 * The group outlives its leader while any member lives, and Linux does not reuse a pid while it
 * names a live group or session, so `kill(-pgid)` after the leader exited still reaches only its
 * tree.
 */
import type { ProcStat } from "@specter/core";
import {
  identity,
  members,
  type RunTree,
  type Snapshot,
  signalNumber,
  signalPid,
  snapshot,
} from "./run-tree.ts";
import { type Watched, wake, watch } from "./tree-watch.ts";

/** Sends `signal` to every process of group `pgid`; `false` when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signalNumber(signal));
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "ESRCH") return false;
    throw error;
  }
}

export interface TerminateOptions {
  terminateTimeout: number;
  killTimeout: number;
  /** The graceful step's signal (default SIGTERM; the `killSignal` option). */
  killSignal?: NodeJS.Signals;
}

export type TerminateResult = "exited" | "killed" | "stuck";

/** How a termination went. */
export interface Termination {
  result: TerminateResult;
  /** Processes it found outside the group (in the session, or by the run's marker). */
  escaped: number;
}

/** The group's leader: `exited` settles once it has been reaped; `gone()` says whether it has. */
export interface Leader {
  exited: Promise<unknown>;
  gone(): boolean;
}

/**
 * Ends `tree`: its processes are found and signalled at once (one scan for every termination
 * started in the same synchronous pass), then looked at once per shared tick; resolves once the
 * leader is reaped and nothing of the tree lives.
 */
export function terminateTree(
  tree: RunTree,
  leader: Leader,
  options: TerminateOptions,
): Promise<Termination> {
  const { promise, resolve, reject } = Promise.withResolvers<Termination>();
  watch(new Ending(tree, leader, options, resolve, reject));
  // A leader that exits is the usual end: look at once instead of at the next backed-off tick.
  leader.exited.then(
    () => wake(),
    () => wake(),
  );
  return promise;
}

/** SIGKILL to the whole tree, synchronously (the host is exiting). Never throws. */
export function killTreeNow(tree: RunTree): void {
  try {
    signalGroup(tree.pgid, "SIGKILL");
    for (const stat of members(snapshot(), tree)) signalPid(stat.pid, "SIGKILL");
  } catch {
    // Nothing more can be done while the host exits.
  }
}

class Ending implements Watched {
  #phase: "new" | "graceful" | "kill" = "new";
  #deadline = 0;
  /** Identities of the processes found outside the group. */
  readonly #escaped = new Set<string>();
  /** Those of them sent the graceful signal. */
  readonly #signalled = new Set<string>();
  #confirmations = 0;

  constructor(
    readonly tree: RunTree,
    readonly leader: Leader,
    readonly options: TerminateOptions,
    readonly resolve: (t: Termination) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  step(snap: Snapshot, now: number): number | undefined {
    try {
      return this.#step(snap, now);
    } catch (error) {
      this.reject(error);
      return undefined;
    }
  }

  #step(snap: Snapshot, now: number): number | undefined {
    const { pgid } = this.tree;
    const found = members(snap, this.tree);
    for (const stat of found) if (stat.pgrp !== pgid) this.#escaped.add(identity(stat));
    // Without /proc (macOS) only the group can be seen: kill(-pgid, 0).
    const alive = found.length > 0 || (!snap.readable && signalGroup(pgid, 0));
    if (!alive && this.leader.gone()) {
      // A process caught in the middle of an exec shows no environment, so no marker: look
      // again before saying nothing is left (twice at most: a busy host always has some).
      if (snap.uncertain && this.#confirmations < 2) {
        this.#confirmations++;
        return now;
      }
      this.#end(this.#phase === "kill" ? "killed" : "exited");
      return undefined;
    }
    const signalAll = (signal: NodeJS.Signals) => {
      // No group yet: the leader has not called setsid() (Bun may return from spawn before the
      // child has). Then the leader by its pid, unless reaped (its pid may be reused).
      if (!signalGroup(pgid, signal) && !this.leader.gone()) signalPid(pgid, signal);
      this.#signalEscapees(found, signal);
    };
    const graceful = this.options.killSignal ?? "SIGTERM";
    if (this.#phase === "new") {
      signalAll(graceful);
      this.#phase = "graceful";
      this.#deadline = now + this.options.terminateTimeout;
    } else if (this.#phase === "graceful" && now < this.#deadline) {
      // A process leaving the group while the tree stops (a daemon half-way through its double
      // fork) gets the graceful signal too. One appearing in the group does not: a TERM trap may
      // start a helper to shut down with, which must be left to finish.
      this.#signalEscapees(found, graceful);
    } else if (this.#phase === "graceful") {
      signalAll("SIGKILL");
      this.#phase = "kill";
      this.#deadline = now + this.options.killTimeout;
      wake(5); // SIGKILL works at once: look again soon
    } else if (now < this.#deadline) {
      signalAll("SIGKILL"); // whatever was forked meanwhile
    } else {
      this.#end("stuck");
      return undefined;
    }
    return this.#deadline;
  }

  /** `signal` to the processes of `found` outside the group (once each for a graceful one). */
  #signalEscapees(found: readonly ProcStat[], signal: NodeJS.Signals): void {
    for (const stat of found) {
      if (stat.pgrp === this.tree.pgid) continue;
      if (signal !== "SIGKILL") {
        const id = identity(stat);
        if (this.#signalled.has(id)) continue;
        this.#signalled.add(id);
      }
      signalPid(stat.pid, signal);
    }
  }

  #end(result: TerminateResult): void {
    this.resolve({ result, escaped: this.#escaped.size });
  }
}
