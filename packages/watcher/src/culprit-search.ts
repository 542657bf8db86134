/**
 * Finding the source that kills a shared worker when its death names nobody. A worker that dies
 * outside any call (a source's leftover timer throws or calls `process.exit`) cannot tell whose
 * code ran: failing everyone's call blamed three innocent neighbours nine times each in 10 s while
 * the culprit delivered all its values. Instead nobody is failed, and the sessions of the dead
 * worker are split into groups, each on a fresh worker of its own (the one whose module was loading
 * alone first, else two halves). The group holding the culprit dies again and is split again,
 * until the culprit is alone: its next death names it, and it is quarantined on a worker of its
 * own for the rest of its run. The other groups of that search then return to the shared workers.
 * A search over n sessions takes about log2(n) + 1 deaths and as many extra workers meanwhile;
 * one culprit among four sessions is alone after two deaths and quarantined at the third. A search
 * that sees no death for `searchTiming.quietMs` (a death that was a one-off) ends the same way, so
 * its extra workers do not outlive it. Internal.
 */
import type { HostWorker } from "./host-worker.ts";
import type { WorkerSession } from "./worker-session.ts";

/**
 * How long a search may go without a death of its groups before they dissolve. 30 s: a culprit
 * whose timer kills every worker it is on dies again within its poll interval plus backoff, far
 * sooner; a search still running then is kept alive by each death. Tests shorten it.
 */
export const searchTiming = { quietMs: 30_000 };

/** One search: the groups it made, over the sessions of the workers that died naming nobody. */
interface Search {
  /** Sessions in its groups. */
  members: number;
  /** Dissolves it after a quiet period; restarted at each death of its groups. */
  timer: Timer | undefined;
}

/** Sessions that share a worker apart from the pool's shared workers (one object per group). */
interface Group {
  host: HostWorker | undefined;
  /** The search that made it; `undefined` for a quarantined source. */
  search: Search | undefined;
}

export class CulpritSearch {
  #groups = new Map<WorkerSession, Group>();

  /** `dissolved` takes the live workers of a search that ended quietly, to give them back. */
  constructor(private readonly dissolved: (hosts: HostWorker[]) => void) {}

  /** The worker `session` must live on, if it lives apart; `start` makes one when there is none. */
  hostOf(session: WorkerSession, start: () => HostWorker): HostWorker | undefined {
    const group = this.#groups.get(session);
    if (!group) return undefined;
    if (!group.host?.alive) group.host = start();
    return group.host;
  }

  quarantined(session: WorkerSession): boolean {
    const group = this.#groups.get(session);
    return group !== undefined && group.search === undefined;
  }

  /** A worker died naming nobody: split its sessions into groups on fresh workers. */
  split(sessions: WorkerSession[], suspect: WorkerSession | undefined): void {
    let search: Search | undefined;
    for (const session of sessions) search ??= this.#groups.get(session)?.search;
    search ??= { members: 0, timer: undefined };
    for (const session of sessions) this.leave(session);
    const rest = sessions.filter((s) => s !== suspect);
    const parts =
      suspect && rest.length < sessions.length
        ? [[suspect], rest]
        : [sessions.slice(0, sessions.length >> 1), sessions.slice(sessions.length >> 1)];
    for (const part of parts) {
      if (part.length === 0) continue;
      const group: Group = { host: undefined, search };
      for (const session of part) this.#groups.set(session, group);
      search.members += part.length;
    }
    clearTimeout(search.timer);
    const ending = search;
    search.timer = setTimeout(() => this.dissolved(this.#end(ending)), searchTiming.quietMs);
    // No reason to keep the process alive: the workers it would give back end with it anyway.
    search.timer.unref();
  }

  /**
   * `culprit` killed its worker while alone on it: it gets a worker of its own for good. Returns
   * the workers of the other groups of its search, which go back to being shared.
   */
  quarantine(culprit: WorkerSession): HostWorker[] {
    const search = this.#groups.get(culprit)?.search;
    this.leave(culprit);
    this.#groups.set(culprit, { host: undefined, search: undefined });
    return search === undefined ? [] : this.#end(search);
  }

  /** Ends a search: its sessions leave their groups; returns the groups' live workers. */
  #end(search: Search): HostWorker[] {
    clearTimeout(search.timer);
    search.members = 0;
    const freed = new Set<HostWorker>();
    for (const [session, group] of this.#groups) {
      if (group.search !== search) continue;
      this.#groups.delete(session);
      if (group.host?.alive) freed.add(group.host);
    }
    return [...freed];
  }

  /** The group worker `host` died: its groups get a new one when next needed. */
  vacate(host: HostWorker, sessions: Iterable<WorkerSession>): void {
    for (const session of sessions) {
      const group = this.#groups.get(session);
      if (group?.host === host) group.host = undefined;
    }
  }

  /** `session` closed (or is regrouped): it no longer belongs to any group. */
  leave(session: WorkerSession): void {
    const search = this.#groups.get(session)?.search;
    this.#groups.delete(session);
    if (search && --search.members === 0) clearTimeout(search.timer);
  }
}
