/** A watcher's source running in a pool worker; survives the worker being replaced. Internal. */

import { formatDuration, settlesWithin } from "@specter/core";
import { CloneError, PollTimeoutError, SourceLoadError, WorkerExitError } from "./errors.ts";
import type { HostWorker, WorkerDeath } from "./host-worker.ts";
import type { WorkerPool } from "./pool.ts";
import { decodeItems, deserializeError, type FromWorker, type SourceSpec } from "./protocol.ts";
import type { PollSession, SessionEvents, StreamSession, StreamSink } from "./session.ts";
import type { Isolation } from "./types.ts";

let nextId = 1;

/** Extra time a poll's timeout allows while its worker starts and imports the module. */
const LOAD_ALLOWANCE = 5_000;

interface PendingCall {
  call: number;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timeout: number | undefined;
  timer: Timer | undefined;
}

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

  constructor(
    readonly label: string,
    private readonly spec: SourceSpec,
    private readonly pool: WorkerPool,
    readonly isolation: Isolation,
    private readonly events: SessionEvents,
    private readonly sink?: StreamSink,
  ) {}

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
    if (this.#loadError) {
      this.sink?.end(this.#loadError);
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
        return;
      }
      case "items":
        try {
          this.sink?.items(decodeItems(message), message.bad);
        } finally {
          this.#host?.post({ t: "ack", id: this.id });
        }
        return;
      case "end":
        this.#streaming = false;
        this.sink?.end(message.error ? deserializeError(message.error) : undefined);
        return;
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
    this.#host = undefined;
    this.#clearCancelled();
    if (this.#closed) {
      this.#closed();
      return;
    }
    const blamed = death.blameAll || death.culprit === this;
    if (blamed && death.duringLoad) {
      this.#failLoad(new SourceLoadError(`${death.reason} (while loading ${this.spec.url})`));
      return;
    }
    if (blamed) {
      const error = new WorkerExitError(death.reason);
      const hadWork = this.#pending !== undefined || this.#streaming;
      this.#settle(this.#pending?.call)?.reject(error);
      if (this.#streaming) {
        this.#streaming = false;
        this.sink?.end(error);
      }
      // With nothing running to fail, the death still shows in health().
      if (!hadWork) this.events.restarted(death.reason);
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

  /** Signals the source to stop; after `stopTimeout` without an answer its worker is killed. */
  async close(stopTimeout: number): Promise<void> {
    this.#settle(this.#pending?.call);
    this.#clearCancelled();
    this.#streaming = false;
    const host = this.#host;
    if (!host) return;
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
