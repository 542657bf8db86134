/** A watcher's source running in a pool worker; survives the worker being replaced. Internal. */

import { formatDuration, settlesWithin } from "@specter/core";
import {
  CloneError,
  outOfMemory,
  PollTimeoutError,
  SourceLoadError,
  WorkerExitError,
} from "./errors.ts";
import { type HostWorker, UNKILLABLE_AFTER, type WorkerDeath } from "./host-worker.ts";
import { releaseOwned } from "./owned-pids.ts";
import type { WorkerPool } from "./pool.ts";
import { decodeItems, deserializeError, type FromWorker, type SourceSpec } from "./protocol.ts";
import {
  LOAD_ALLOWANCE,
  type PendingCall,
  type PollSession,
  type SessionEvents,
  type StreamSession,
  type StreamSink,
} from "./session.ts";
import type { Isolation } from "./types.ts";

let nextId = 1;

export class WorkerSession implements PollSession, StreamSession {
  readonly id = nextId++;
  #host: HostWorker | undefined;
  /** The module is loaded in the current worker: poll timeouts count from here, not from start-up. */
  #loaded = false;
  /**
   * The poll in flight. One slot is enough: a watcher polls again only after its last poll
   * settled or timed out (a timed-out call leaves this slot for #cancelled).
   */
  #pending: PendingCall | undefined;
  /**
   * Calls that timed out: each must settle within hangGrace after its abort, or the worker dies.
   * Made on the first timeout; most sessions never have one.
   */
  #cancelled: Map<number, Timer> | undefined;
  #nextCall = 1;
  #streaming = false;
  #loadError: SourceLoadError | undefined;
  #closed: (() => void) | undefined;
  /** `close()` was called: nothing starts a worker for this session any more. */
  #ended = false;
  /**
   * The worker killed for this session's sake, until its thread ends: no other worker is started
   * for this source meanwhile, so a source blocked in a native call holds one thread, not one per
   * retry (25 threads and 25 `sleep` processes after 25 retries in 10 s before this).
   */
  #killed: HostWorker | undefined;
  /**
   * The death of a worker this session killed while no call of it ran (a timer of its own): the
   * next call fails with it, so the culprit sees its own fault.
   */
  #owed: WorkerExitError | undefined;

  constructor(
    readonly label: string,
    private readonly spec: SourceSpec,
    private readonly pool: WorkerPool,
    readonly isolation: Isolation,
    private readonly events: SessionEvents,
    private readonly sink?: StreamSink,
  ) {}

  /** Its module has loaded in the current worker. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Its quarantine when it closed: health() still shows it after the loop gave up. */
  #wasQuarantined: boolean | undefined;
  /** It killed its workers outside any call and lives on a worker of its own. */
  get quarantined(): boolean {
    return this.#wasQuarantined ?? this.pool.quarantined(this);
  }

  /** A worker killed for it still runs, blocked in a native call; it is not restarted meanwhile. */
  get unkillable(): boolean {
    return this.#killed?.unkillable ?? false;
  }

  /**
   * Whether the worker killed for this session has ended: `undefined` when it has (or there is
   * none), an error once it is unkillable, else a promise that settles when it ends or becomes so.
   */
  #killedWorker(): Error | Promise<unknown> | undefined {
    const killed = this.#killed;
    if (!killed || killed.closed) {
      this.#killed = undefined;
      return undefined;
    }
    if (killed.unkillable) {
      const ago = formatDuration(Math.round(performance.now() - killed.terminatedAt));
      return new WorkerExitError(
        `the worker killed ${ago} ago for watcher "${this.label}" still runs: its source is blocked in a native call that cannot be interrupted (such as Bun.sleepSync or Bun.spawnSync); no new worker until it returns`,
      );
    }
    const left = UNKILLABLE_AFTER - (performance.now() - killed.terminatedAt);
    return settlesWithin(killed.exited, Math.max(0, Math.ceil(left)) + 5);
  }

  #ensureHost(): HostWorker {
    if (!this.#host) {
      this.#loaded = false;
      this.#host = this.pool.attach(this);
      this.#host.post({ t: "open", id: this.id, spec: this.spec });
    }
    return this.#host;
  }

  call(timeout: number | undefined): Promise<unknown> {
    if (this.#loadError) return Promise.reject(this.#loadError);
    if (this.#ended) return Promise.reject(new Error("watcher stopped"));
    const owed = this.#owed;
    if (owed) {
      this.#owed = undefined;
      return Promise.reject(owed);
    }
    const killed = this.#killedWorker();
    if (killed instanceof Error) return Promise.reject(killed);
    if (killed) return killed.then(() => this.call(timeout));
    const host = this.#ensureHost();
    const call = this.#nextCall++;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const pending: PendingCall = { call, resolve, reject, timeout, timer: undefined };
    // Never more than one (see #pending); an older call left here would be failed, not lost.
    this.#settle(this.#pending?.call)?.reject(new Error("superseded by a newer poll"));
    this.#pending = pending;
    this.#arm(pending);
    host.post({ t: "call", id: this.id, call });
    return promise;
  }

  /**
   * Starts a call's timeout. Before the module is loaded in its worker the call gets LOAD_ALLOWANCE
   * more (a cold start is not the poll's fault; a worker blocked by another source still is
   * caught); once loaded, the plain timeout starts over.
   */
  #arm(pending: PendingCall): void {
    const timeout = pending.timeout;
    if (timeout === undefined) return;
    clearTimeout(pending.timer);
    const limit = this.#loaded ? timeout : timeout + LOAD_ALLOWANCE;
    pending.timer = setTimeout(() => this.#timedOut(pending, limit), limit);
    // Not the allowance, though, while something else blocks the worker (see watchLoad).
    if (!this.#loaded)
      this.#host?.watchLoad(this, timeout, () => {
        clearTimeout(pending.timer);
        this.#timedOut(pending, timeout);
      });
  }

  #timedOut(pending: PendingCall, timeout: number): void {
    if (this.#pending !== pending) return;
    this.#pending = undefined;
    const call = pending.call;
    pending.reject(new PollTimeoutError(`poll took longer than ${formatDuration(timeout)}`));
    const host = this.#host;
    if (!host) return;
    host.post({ t: "cancel", id: this.id, call });
    if (host.isRunning(this)) {
      host.kill(this, "was stuck");
      return;
    }
    const grace = this.pool.hangGrace;
    const why = `did not settle within ${formatDuration(grace)} after its poll timed out and was aborted`;
    this.#cancelled ??= new Map();
    this.#cancelled.set(
      call,
      setTimeout(() => {
        this.#cancelled?.delete(call);
        if (this.#host === host) host.kill(this, why);
      }, grace),
    );
  }

  start(): void {
    if (this.#ended) return;
    const error = this.#loadError ?? this.#killedWorker();
    if (error instanceof Error) {
      this.sink?.end(error);
      return;
    }
    if (error) {
      error.then(() => this.start());
      return;
    }
    this.#streaming = true;
    this.#ensureHost().post({ t: "stream", id: this.id });
  }

  /** A message from the worker for this session. */
  receive(message: FromWorker): void {
    switch (message.t) {
      case "loaded":
        this.#loaded = true;
        if (this.#pending) this.#arm(this.#pending);
        return;
      case "value":
        this.#settle(message.call)?.resolve(message.value);
        return;
      case "fail": {
        const error = deserializeError(message.error);
        this.#settle(message.call)?.reject(
          message.clone
            ? new CloneError(`the poll's value cannot leave the worker: ${error.message}`, {
                cause: error,
              })
            : error,
        );
        if (outOfMemory(error)) this.#host?.recycle(this);
        return;
      }
      case "items":
        try {
          this.sink?.items(decodeItems(message), message.bad);
        } finally {
          this.#host?.post({ t: "ack", id: this.id });
        }
        return;
      case "end": {
        this.#streaming = false;
        const error = message.error ? deserializeError(message.error) : undefined;
        this.sink?.end(error);
        if (error && outOfMemory(error)) this.#host?.recycle(this);
        return;
      }
      case "load-error":
        this.#failLoad(new SourceLoadError(deserializeError(message.error).message));
        return;
      case "closed":
        this.#closed?.();
    }
  }

  #settle(call: number | undefined): PendingCall | undefined {
    if (call === undefined) return undefined;
    const late = this.#cancelled?.get(call);
    if (late) {
      // A timed-out call settled after all (it honoured its abort signal): nothing to kill.
      clearTimeout(late);
      this.#cancelled?.delete(call);
    }
    const pending = this.#pending;
    if (pending?.call !== call) return undefined;
    this.#pending = undefined;
    clearTimeout(pending.timer);
    return pending;
  }

  #clearCancelled(): void {
    if (!this.#cancelled) return;
    for (const timer of this.#cancelled.values()) clearTimeout(timer);
    this.#cancelled = undefined;
  }

  #failLoad(error: SourceLoadError): void {
    this.#loadError = error;
    this.#settle(this.#pending?.call)?.reject(error);
    if (this.#streaming) {
      this.#streaming = false;
      this.sink?.end(error);
    }
  }

  /** The worker went away: move to another one, failing what the death is blamed for. @internal */
  moved(death: WorkerDeath): void {
    const dead = this.#host;
    this.#host = undefined;
    // What the source registered lost its cleanups with that worker: ended now, blamed or not
    // (10 children of 10 hung polls lived until stop() when only "restarted" ended them).
    void releaseOwned(this.id);
    this.#clearCancelled();
    if (this.#closed) {
      this.#closed();
      return;
    }
    const blamed = death.culprit === this;
    if (blamed && dead && !dead.closed) this.#killed = dead;
    if (blamed && death.duringLoad) {
      this.#failLoad(new SourceLoadError(`${death.reason} (while loading ${this.spec.url})`));
      return;
    }
    if (blamed) {
      const error = new WorkerExitError(
        death.outsideCall
          ? `${death.reason}; no call of the source of watcher "${this.label}" was running, and it was alone on that worker: quarantined on a worker of its own`
          : death.reason,
      );
      const hadWork = this.#pending !== undefined || this.#streaming;
      this.#settle(this.#pending?.call)?.reject(error);
      if (this.#streaming) {
        this.#streaming = false;
        this.sink?.end(error);
      }
      if (!hadWork) {
        // With nothing running to fail, the death still shows in health(); a death by its own
        // timer fails its next call.
        this.events.restarted(death.reason);
        if (death.outsideCall) this.#owed = error;
      }
      return;
    }
    this.events.restarted(death.reason);
    const pending = this.#pending;
    if (!pending && !this.#streaming) return;
    const host = this.#ensureHost();
    if (pending) {
      this.#arm(pending);
      host.post({ t: "call", id: this.id, call: pending.call });
    }
    if (this.#streaming) host.post({ t: "stream", id: this.id });
  }

  /**
   * Signals the source to stop; after `stopTimeout` without an answer its worker is killed. What
   * it registered and did not end (its worker was killed) is ended before this resolves.
   */
  async close(stopTimeout: number): Promise<void> {
    this.#wasQuarantined = this.pool.quarantined(this);
    try {
      await this.#close(stopTimeout);
    } finally {
      await releaseOwned(this.id);
    }
  }

  async #close(stopTimeout: number): Promise<void> {
    this.#ended = true;
    this.#settle(this.#pending?.call);
    this.#clearCancelled();
    this.#streaming = false;
    const host = this.#host;
    if (!host) {
      await this.pool.detach(this, undefined);
      // A worker killed for it a moment ago is usually gone within milliseconds; wait for that
      // (not for one blocked in a native call), so stop() leaves no thread behind.
      const killed = this.#killedWorker();
      if (killed && !(killed instanceof Error)) await killed;
      return;
    }
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#closed = resolve;
    host.post({ t: "close", id: this.id });
    if (!(await settlesWithin(promise, stopTimeout))) {
      host.kill(this, `did not stop within ${formatDuration(stopTimeout)} (stopTimeout)`);
    }
    this.#host = undefined;
    await this.pool.detach(this, host);
  }
}
