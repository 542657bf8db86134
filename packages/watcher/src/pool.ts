import type { Duration } from "@specter/core";
import { durationSchema, parseOptions } from "@specter/core";
import { z } from "zod";
import { HostWorker, type WorkerDeath } from "./host-worker.ts";
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
  /** Workers running now. */
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
 * `health().workerRestarts` says so.
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
  #hosts: HostWorker[] = [];
  #deaths = 0;

  constructor(options: WorkerPoolOptions = {}) {
    const o = parseOptions(optionsSchema, options, "WorkerPool");
    this.size = o.size ?? Math.max(1, Math.min(4, navigator.hardwareConcurrency));
    this.hangGrace = o.hangGrace;
  }

  stats(): WorkerPoolStats {
    let sessions = 0;
    for (const host of this.#hosts) sessions += host.sessions.size;
    return { workers: this.#hosts.length, sessions, deaths: this.#deaths };
  }

  /** Places a session on the least busy worker, starting one while the pool is below `size`. @internal */
  attach(session: WorkerSession): HostWorker {
    let best: HostWorker | undefined;
    for (const host of this.#hosts) {
      if (!best || host.sessions.size < best.sessions.size) best = host;
    }
    if (!best || (best.sessions.size > 0 && this.#hosts.length < this.size)) {
      best = new HostWorker((host, death) => this.#died(host, death));
      this.#hosts.push(best);
    }
    best.sessions.set(session.id, session);
    return best;
  }

  /** Removes a session; its worker ends when it was the last. Resolves once that worker is gone. @internal */
  detach(session: WorkerSession, host: HostWorker): Promise<void> {
    host.sessions.delete(session.id);
    if (!host.alive) return host.exited;
    if (host.sessions.size > 0) return Promise.resolve();
    this.#remove(host);
    return host.terminate();
  }

  #remove(host: HostWorker): void {
    const index = this.#hosts.indexOf(host);
    if (index >= 0) this.#hosts.splice(index, 1);
  }

  #died(host: HostWorker, death: WorkerDeath): void {
    this.#remove(host);
    this.#deaths++;
    const sessions = [...host.sessions.values()];
    host.sessions.clear();
    for (const session of sessions) session.moved(death);
  }
}
