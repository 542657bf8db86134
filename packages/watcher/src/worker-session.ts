/** A watcher's source running in a pool worker; survives the worker being replaced. Internal. */
import { CloneError, PollTimeoutError, SourceLoadError, WorkerExitError } from "./errors.ts";
import type { HostWorker, WorkerDeath } from "./host-worker.ts";
import type { WorkerPool } from "./pool.ts";
import { deserializeError, type FromWorker, type SourceSpec } from "./protocol.ts";
import type { PollSession, SessionEvents, StreamSession, StreamSink } from "./session.ts";
import { formatDuration } from "./shared/duration.ts";
import { settlesWithin } from "./shared/timing.ts";
import type { Isolation } from "./types.ts";

let nextId = 1;

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: Timer | undefined;
}

export class WorkerSession implements PollSession, StreamSession {
  readonly id = nextId++;
  #host: HostWorker | undefined;
  #calls = new Map<number, PendingCall>();
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
    const pending: PendingCall = { resolve, reject, timer: undefined };
    if (timeout !== undefined)
      pending.timer = setTimeout(() => this.#timedOut(call, timeout), timeout);
    this.#calls.set(call, pending);
    host.post({ t: "call", id: this.id, call });
    return promise;
  }

  #timedOut(call: number, timeout: number): void {
    const pending = this.#calls.get(call);
    if (!pending) return;
    this.#calls.delete(call);
    pending.reject(new PollTimeoutError(`poll took longer than ${formatDuration(timeout)}`));
    const host = this.#host;
    if (!host) return;
    host.post({ t: "cancel", id: this.id, call });
    void host.checkHung(this, this.pool.hangGrace);
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
        this.sink?.items(message.items, message.bad);
        this.#host?.post({ t: "ack", id: this.id });
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

  #settle(call: number): PendingCall | undefined {
    const pending = this.#calls.get(call);
    if (!pending) return undefined;
    this.#calls.delete(call);
    clearTimeout(pending.timer);
    return pending;
  }

  #failLoad(error: SourceLoadError): void {
    this.#loadError = error;
    for (const call of [...this.#calls.keys()]) this.#settle(call)?.reject(error);
    if (this.#streaming) {
      this.#streaming = false;
      this.sink?.end(error);
    }
  }

  /** The worker went away: move to another one, failing what the death is blamed for. @internal */
  moved(death: WorkerDeath): void {
    this.#host = undefined;
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
      for (const call of [...this.#calls.keys()]) this.#settle(call)?.reject(error);
      if (this.#streaming) {
        this.#streaming = false;
        this.sink?.end(error);
      }
      return;
    }
    this.events.restarted(death.reason);
    if (this.#calls.size === 0 && !this.#streaming) return;
    const host = this.#ensureHost();
    for (const call of this.#calls.keys()) host.post({ t: "call", id: this.id, call });
    if (this.#streaming) host.post({ t: "stream", id: this.id });
  }

  async close(stopTimeout: number): Promise<void> {
    for (const call of [...this.#calls.keys()]) this.#settle(call);
    this.#streaming = false;
    const host = this.#host;
    if (!host) return;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#closed = resolve;
    host.post({ t: "close", id: this.id });
    if (!(await settlesWithin(promise, stopTimeout)) && host.alive) {
      // Stuck: a dedicated worker is simply ended; a shared one is killed only if it is stuck too.
      if (this.isolation === "shared-worker") await host.checkHung(this, this.pool.hangGrace);
    }
    this.#host = undefined;
    await this.pool.detach(this, host);
  }
}
