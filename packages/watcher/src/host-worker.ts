/** One Bun Worker hosting many sessions, with hang detection. Internal; see `WorkerPool`. */
import { BUSY_CALLING, BUSY_LOADING, type FromWorker, Outbox, type ToWorker } from "./protocol.ts";
import { settlesWithin } from "./shared/timing.ts";
import type { WorkerSession } from "./worker-session.ts";

const ENTRY = new URL("./worker-entry.ts", import.meta.url).href;

/** How a worker went away, for the sessions it hosted. */
export interface WorkerDeath {
  reason: string;
  /** The session to blame (its calls fail); the others move on unharmed. `undefined` blames none. */
  culprit: WorkerSession | undefined;
  /** No culprit is known: every session's running call fails. */
  blameAll: boolean;
  /** The culprit died loading its module: it is not retried. */
  duringLoad: boolean;
}

export class HostWorker {
  readonly sessions = new Map<number, WorkerSession>();
  readonly exited: Promise<void>;
  #worker: Worker;
  #busy = new Int32Array(new SharedArrayBuffer(8));
  #pings = new Map<number, () => void>();
  #nextPing = 1;
  #gone = false;
  #outbox: Outbox<ToWorker>;

  constructor(private readonly onDeath: (host: HostWorker, death: WorkerDeath) => void) {
    this.#worker = new Worker(ENTRY);
    const { promise, resolve } = Promise.withResolvers<void>();
    this.exited = promise;
    this.#worker.addEventListener("close", (event) => {
      resolve();
      if (!this.#gone) this.#unexpectedExit((event as CloseEvent).code);
    });
    this.#worker.addEventListener("error", () => {
      // The worker's entry never throws; an error here is followed by "close", handled there.
    });
    this.#outbox = new Outbox((message) => this.#worker.postMessage(message));
    this.#worker.onmessage = (event: MessageEvent<FromWorker>) => this.#receive(event.data);
    this.post({ t: "init", busy: this.#busy.buffer as SharedArrayBuffer });
  }

  get alive(): boolean {
    return !this.#gone;
  }

  post(message: ToWorker): void {
    if (!this.#gone) this.#outbox.push(message);
  }

  #receive(message: FromWorker): void {
    if (message.t === "batch") {
      for (const m of message.messages) this.#receive(m);
    } else if (message.t === "pong") {
      this.#pings.get(message.n)?.();
    } else {
      this.sessions.get(message.id)?.receive(message);
    }
  }

  /** Ends the worker (it has no sessions left, or the pool is closing); resolves once it is gone. */
  terminate(): Promise<void> {
    if (!this.#gone) {
      this.#gone = true;
      this.#outbox.clear();
      this.#worker.terminate();
    }
    return this.exited;
  }

  /**
   * `session`'s call or close did not finish in time. When the worker is stuck (inside that
   * session's synchronous code, or not answering a ping within `grace` ms) it is killed and its
   * other sessions move to another worker; a worker that still answers is left alone and the
   * session's pending work is abandoned.
   */
  async checkHung(session: WorkerSession, grace: number): Promise<boolean> {
    if (this.#gone) return false;
    const stuck =
      Atomics.load(this.#busy, BUSY_CALLING) === session.id || !(await this.#ping(grace));
    if (stuck && !this.#gone) {
      this.#kill({
        reason: `worker killed: the source of watcher "${session.label}" was stuck`,
        culprit: session,
        blameAll: false,
        duringLoad: false,
      });
    }
    return stuck;
  }

  #ping(grace: number): Promise<boolean> {
    const n = this.#nextPing++;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#pings.set(n, resolve);
    this.post({ t: "ping", n });
    return settlesWithin(promise, grace).finally(() => this.#pings.delete(n));
  }

  #kill(death: WorkerDeath): void {
    this.#gone = true;
    this.#outbox.clear();
    this.#worker.terminate();
    this.onDeath(this, death);
  }

  #unexpectedExit(code: number): void {
    this.#gone = true;
    const calling = this.sessions.get(Atomics.load(this.#busy, BUSY_CALLING));
    const loading = this.sessions.get(Atomics.load(this.#busy, BUSY_LOADING));
    const culprit = calling ?? loading;
    const how = culprit ? ` while running the source of watcher "${culprit.label}"` : "";
    this.onDeath(this, {
      reason: `worker exited unexpectedly with code ${code}${how}`,
      culprit,
      blameAll: culprit === undefined,
      duringLoad: culprit !== undefined && culprit === loading && calling === undefined,
    });
  }
}
