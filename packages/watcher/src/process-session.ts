/**
 * A watcher's module source in a subprocess of its own (`isolation: "process"`). The protocol is
 * a Worker's (protocol.ts); what differs is the kill: SIGKILL to the subprocess's process group,
 * after which the OS has closed every fd and ended every child the source had in it. A poll that
 * times out and does not settle within HANG_GRACE, a call that ran out of memory, a close that
 * outlasts `stopTimeout` and every stop kill the group; the next poll or stream starts a new
 * subprocess. Internal.
 */
import { formatDuration, settlesWithin } from "@specter/core";
import {
  CloneError,
  outOfMemory,
  PollTimeoutError,
  SourceLoadError,
  WorkerExitError,
} from "./errors.ts";
import { decodeItems, deserializeError, type FromWorker, type SourceSpec } from "./protocol.ts";
import {
  LOAD_ALLOWANCE,
  type PendingCall,
  type PollSession,
  type SessionEvents,
  type StreamSession,
  type StreamSink,
} from "./session.ts";
import { SourceProcess } from "./source-process.ts";

/** The one session a subprocess hosts. */
const ID = 1;

/**
 * How long a timed-out poll has to settle after its abort before the subprocess is killed: the
 * default `hangGrace` of a `WorkerPool` (a process has no shared "busy" slot to tell a stuck
 * source at once).
 */
const HANG_GRACE = 100;

export class ProcessSession implements PollSession, StreamSession {
  readonly isolation = "process";
  #process: SourceProcess | undefined;
  #loaded = false;
  #poll: PendingCall | undefined;
  #nextCall = 1;
  #streaming = false;
  #loadError: SourceLoadError | undefined;
  #closed: (() => void) | undefined;

  constructor(
    /** The watcher's name, for the reasons its restarts give. */
    private readonly label: string,
    private readonly spec: SourceSpec,
    private readonly events: SessionEvents,
    private readonly sink?: StreamSink,
  ) {}

  #ensureProcess(): SourceProcess {
    if (this.#process?.alive) return this.#process;
    this.#loaded = false;
    const child = new SourceProcess(
      (message) => {
        if (this.#process === child) this.#receive(message);
      },
      (reason) => {
        if (this.#process === child) this.#died(reason);
      },
    );
    this.#process = child;
    child.post({ t: "open", id: ID, spec: this.spec });
    return child;
  }

  call(timeout: number | undefined): Promise<unknown> {
    if (this.#loadError) return Promise.reject(this.#loadError);
    const child = this.#ensureProcess();
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const call = this.#nextCall++;
    const poll: PendingCall = { call, resolve, reject, timeout, timer: undefined };
    this.#take()?.reject(new Error("superseded by a newer poll"));
    this.#poll = poll;
    this.#armTimeout(poll);
    child.post({ t: "call", id: ID, call });
    return promise;
  }

  /** Before the module is loaded the timeout allows LOAD_ALLOWANCE more (a cold start). */
  #armTimeout(poll: PendingCall): void {
    if (poll.timeout === undefined) return;
    clearTimeout(poll.timer);
    const limit = poll.timeout + (this.#loaded ? 0 : LOAD_ALLOWANCE);
    poll.timer = setTimeout(() => {
      if (this.#poll !== poll) return;
      this.#poll = undefined;
      poll.reject(new PollTimeoutError(`poll took longer than ${formatDuration(limit)}`));
      this.#giveUp(poll.call);
    }, limit);
  }

  /** Aborts a timed-out poll; unless an answer to it comes within HANG_GRACE, kills the process. */
  #giveUp(call: number): void {
    const child = this.#process;
    if (!child) return;
    child.post({ t: "cancel", id: ID, call });
    const timer = setTimeout(() => {
      if (this.#process !== child || this.#answered >= call) return;
      const why = `did not settle within ${formatDuration(HANG_GRACE)} after its poll timed out and was aborted`;
      this.#kill(child, `source process killed: the source ${why}`);
    }, HANG_GRACE);
    timer.unref();
  }

  /** The last call the process answered (a value or a failure), late or not. */
  #answered = 0;

  #take(call?: number): PendingCall | undefined {
    const poll = this.#poll;
    if (!poll || (call !== undefined && poll.call !== call)) return undefined;
    this.#poll = undefined;
    clearTimeout(poll.timer);
    return poll;
  }

  start(): void {
    if (this.#loadError) {
      this.sink?.end(this.#loadError);
      return;
    }
    this.#streaming = true;
    this.#ensureProcess().post({ t: "stream", id: ID });
  }

  #receive(message: FromWorker): void {
    switch (message.t) {
      case "loaded":
        this.#loaded = true;
        if (this.#poll) this.#armTimeout(this.#poll);
        return;
      case "value":
        this.#answered = Math.max(this.#answered, message.call);
        this.#take(message.call)?.resolve(message.value);
        return;
      case "fail": {
        this.#answered = Math.max(this.#answered, message.call);
        const cause = deserializeError(message.error);
        const text = `the poll's value cannot leave the source process: ${cause.message}`;
        this.#take(message.call)?.reject(message.clone ? new CloneError(text, { cause }) : cause);
        this.#recycleIfOutOfMemory(cause);
        return;
      }
      case "items":
        try {
          this.sink?.items(decodeItems(message), message.bad);
        } finally {
          this.#process?.post({ t: "ack", id: ID });
        }
        return;
      case "end": {
        this.#streaming = false;
        const error = message.error ? deserializeError(message.error) : undefined;
        this.sink?.end(error);
        if (error) this.#recycleIfOutOfMemory(error);
        return;
      }
      case "load-error":
        this.#fail(new SourceLoadError(deserializeError(message.error).message));
        return;
      case "closed":
        this.#closed?.();
    }
  }

  /** Fails the running poll and stream with `error`; a load error also fails every later one. */
  #fail(error: Error): void {
    if (error instanceof SourceLoadError) this.#loadError = error;
    this.#take()?.reject(error);
    if (!this.#streaming) return;
    this.#streaming = false;
    this.sink?.end(error);
  }

  /**
   * A source that ran out of memory still references what it allocated: measured, a string
   * doubled until JavaScriptCore threw `RangeError: Out of memory` left the subprocess alive at
   * 2,078 MB RSS until `stop()`. Its group is killed (the failure was already reported, so this
   * shows as a restart) and the next call starts a fresh subprocess.
   */
  #recycleIfOutOfMemory(error: Error): void {
    const child = this.#process;
    if (!child || !outOfMemory(error)) return;
    const reason = `source process recycled: the source of watcher "${this.label}" ran out of memory`;
    this.#kill(child, reason);
  }

  #kill(child: SourceProcess, reason: string): void {
    void child.kill();
    this.#died(reason);
  }

  /** The process is gone: what ran fails; with nothing running the restart still shows in health(). */
  #died(reason: string): void {
    this.#process = undefined;
    if (this.#closed) return;
    const running = this.#poll !== undefined || this.#streaming;
    if (!this.#loaded && running) {
      this.#fail(new SourceLoadError(`${reason} (while loading ${this.spec.url})`));
      return;
    }
    if (running) this.#fail(new WorkerExitError(reason));
    else this.events.restarted(reason);
  }

  /** Lets the source run its cleanups (up to `stopTimeout`), then kills the process group. */
  async close(stopTimeout: number): Promise<void> {
    this.#take();
    this.#streaming = false;
    const child = this.#process;
    if (!child) return;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#closed = resolve;
    child.post({ t: "close", id: ID });
    await settlesWithin(Promise.race([promise, child.exited]), stopTimeout);
    this.#process = undefined;
    await child.kill();
    this.#closed = undefined;
  }
}
