import type { Duration } from "@specter/core";
import { durationSchema, parseOptions, settlesWithin } from "@specter/core";
import { z } from "zod";
import { CulpritSearch } from "./culprit-search.ts";
import { HostWorker, UNKILLABLE_AFTER, type WorkerDeath } from "./host-worker.ts";
import type { WorkerSession } from "./worker-session.ts";

export interface WorkerPoolOptions {
  /** Most workers the pool runs at once (default: CPU count, 1 to 4). Watchers are spread over them. */
  size?: number;
  /**
   * How long a poll that timed out has to settle once its signal is aborted before its worker is
   * killed (default `"100ms"`). A source that honours the signal (e.g. passes it to `fetch`) is
   * never killed; one stuck in synchronous code is killed at once.
   */
  hangGrace?: Duration;
}

export interface WorkerPoolStats {
  /**
   * Worker threads running now, including killed ones whose thread has not ended yet (one blocked
   * in a native call such as `Bun.sleepSync` ends only when that call returns).
   */
  workers: number;
  /** Watcher sessions hosted now. */
  sessions: number;
  /** Workers that died or were killed while hosting sessions, since the pool was made. */
  deaths: number;
}

const optionsSchema = z.strictObject({
  size: z.number().int().min(1).max(64).optional(),
  hangGrace: durationSchema({ positive: true }).default(100),
});

/**
 * Workers shared by module-source watchers. Workers start when the first watcher needs one and end
 * when their last watcher stops, so an idle pool holds no thread. A worker killed because one
 * source hung takes no other watcher with it: they are restarted on another worker, and their
 * `health().workerRestarts` says so. A worker that dies outside any call fails nobody: its
 * watchers are split over fresh workers (beyond `size`, for a while) until the source that kills
 * them is alone, and that one is quarantined on a worker of its own (`health().quarantined`).
 * Then, or after 30 s without such a death, the other watchers go back to at most `size` workers.
 */
export class WorkerPool {
  static #default: WorkerPool | undefined;

  /** The pool shared by watchers that name none. */
  static get default(): WorkerPool {
    WorkerPool.#default ??= new WorkerPool();
    return WorkerPool.#default;
  }

  readonly size: number;
  readonly hangGrace: number;
  /** Workers shared by any session (at most `size`). */
  #hosts: HostWorker[] = [];
  /** Workers of the culprit search and of quarantined sources, closed to other sessions. */
  #apart = new Set<HostWorker>();
  /** Workers killed or dead whose thread has not ended yet. */
  #dying = new Set<HostWorker>();
  #search = new CulpritSearch((hosts) => this.#giveBack(hosts));
  #deaths = 0;

  constructor(options: WorkerPoolOptions = {}) {
    const o = parseOptions(optionsSchema, options, "WorkerPool");
    this.size = o.size ?? Math.max(1, Math.min(4, navigator.hardwareConcurrency));
    this.hangGrace = o.hangGrace;
  }

  stats(): WorkerPoolStats {
    let sessions = 0;
    for (const host of this.#hosts) sessions += host.sessions.size;
    for (const host of this.#apart) sessions += host.sessions.size;
    const workers = this.#hosts.length + this.#apart.size + this.#dying.size;
    return { workers, sessions, deaths: this.#deaths };
  }

  /** Whether `session` was found to kill its workers and lives on a worker of its own. @internal */
  quarantined(session: WorkerSession): boolean {
    return this.#search.quarantined(session);
  }

  /**
   * Places a session: on its own group's worker when it lives apart, else on the least busy shared
   * worker, starting one while the pool is below `size`. @internal
   */
  attach(session: WorkerSession): HostWorker {
    let best = this.#search.hostOf(session, () => {
      const host = this.#start();
      this.#apart.add(host);
      return host;
    });
    if (!best) {
      for (const host of this.#hosts) {
        if (!best || host.sessions.size < best.sessions.size) best = host;
      }
      if (!best || (best.sessions.size > 0 && this.#hosts.length < this.size)) {
        best = this.#start();
        this.#hosts.push(best);
      }
    }
    best.sessions.set(session.id, session);
    return best;
  }

  /**
   * Removes a closed session; its worker ends when it was the last. Resolves once that worker's
   * thread is gone, or after UNKILLABLE_AFTER when it is blocked in a native call (it cannot be
   * waited for: `stop()` would hang until the call returns). @internal
   */
  async detach(session: WorkerSession, host: HostWorker | undefined): Promise<void> {
    this.#search.leave(session);
    if (!host) return;
    host.sessions.delete(session.id);
    if (host.alive) {
      if (host.sessions.size > 0) return;
      this.#remove(host);
      host.terminate();
    }
    await settlesWithin(host.exited, UNKILLABLE_AFTER);
  }

  #start(): HostWorker {
    return new HostWorker(
      (host, death) => this.#died(host, death),
      (host) => this.#dying.delete(host),
      this.hangGrace,
    );
  }

  /**
   * The workers of a search that ended go back to being shared while the pool is below `size`;
   * each one beyond it is retired once no call is in flight on it: its watchers move to the
   * shared workers as after a neighbour's death (no error; their next call runs there, a stream
   * is reopened there; `workerRestarts` counts it).
   */
  #giveBack(hosts: HostWorker[]): void {
    for (const host of hosts) {
      if (!host.alive || !this.#apart.has(host)) continue;
      if (this.#hosts.length < this.size) {
        this.#apart.delete(host);
        this.#hosts.push(host);
      } else host.whenIdle(() => this.#retire(host));
    }
  }

  #retire(host: HostWorker): void {
    this.#remove(host);
    this.#dying.add(host);
    void host.terminate();
    const sessions = [...host.sessions.values()];
    host.sessions.clear();
    const death: WorkerDeath = {
      reason: `worker retired: the search for a source that killed its workers ended, and the pool is back to its size (${this.size})`,
      culprit: undefined,
      duringLoad: false,
      outsideCall: false,
      suspect: undefined,
    };
    for (const session of sessions) session.moved(death);
  }

  #remove(host: HostWorker): void {
    const index = this.#hosts.indexOf(host);
    if (index >= 0) this.#hosts.splice(index, 1);
    this.#apart.delete(host);
  }

  #died(host: HostWorker, death: WorkerDeath): void {
    this.#remove(host);
    this.#deaths++;
    if (!host.closed) this.#dying.add(host);
    const sessions = [...host.sessions.values()];
    host.sessions.clear();
    const { culprit } = death;
    if (!culprit) this.#search.split(sessions, death.suspect);
    else if (death.outsideCall) this.#giveBack(this.#search.quarantine(culprit));
    else this.#search.vacate(host, sessions);
    for (const session of sessions) session.moved(death);
  }
}
