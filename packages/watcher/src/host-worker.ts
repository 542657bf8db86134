/** One Bun Worker hosting many sessions, and the kill switch for it. Internal; see `WorkerPool`. */
import { BUSY_CALLING, BUSY_LOADING, type FromWorker, Outbox, type ToWorker } from "./protocol.ts";
import type { WorkerSession } from "./worker-session.ts";

const ENTRY = new URL("./worker-entry.ts", import.meta.url).href;

/** How a worker went away, for the sessions it hosted. */
export interface WorkerDeath {
  reason: string;
  /** The session to blame (its calls fail); the others move on unharmed. */
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
  #gone = false;
  #lastError: string | undefined;
  #outbox: Outbox<ToWorker>;

  constructor(private readonly onDeath: (host: HostWorker, death: WorkerDeath) => void) {
    this.#worker = new Worker(ENTRY);
    const { promise, resolve } = Promise.withResolvers<void>();
    this.exited = promise;
    this.#worker.addEventListener("close", (event) => {
      resolve();
      if (!this.#gone) this.#unexpectedExit((event as CloseEvent).code);
    });
    this.#worker.addEventListener("error", (event) => {
      // An uncaught error in a source's own callbacks; the "close" that follows reports it.
      // Bun puts a code frame before the message; keep the "error: ..." line.
      const text = String((event as ErrorEvent).message ?? "");
      this.#lastError = /^error: (.*)$/m.exec(text)?.[1] ?? text.split("\n")[0];
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
      return;
    }
    try {
      this.sessions.get(message.id)?.receive(message);
    } catch (error) {
      // Sessions isolate user callbacks; anything reaching here is our bug. Keep the other messages.
      console.error("[specter] internal error handling a worker message:", error);
    }
  }

  /** Ends the worker (it has no sessions left); resolves once it is gone. */
  terminate(): Promise<void> {
    if (!this.#gone) {
      this.#gone = true;
      this.#outbox.clear();
      this.#worker.terminate();
    }
    return this.exited;
  }

  /**
   * `late`'s poll or close did not finish in time: kill the worker. The blame goes to the session
   * whose synchronous code is running now, if any (it is what blocks the worker), else to `late`.
   * The other sessions move to another worker.
   */
  kill(late: WorkerSession, why: string): void {
    if (this.#gone) return;
    const running = this.sessions.get(Atomics.load(this.#busy, BUSY_CALLING));
    const culprit = running ?? late;
    this.#gone = true;
    this.#outbox.clear();
    this.#worker.terminate();
    this.onDeath(this, {
      reason: `worker killed: the source of watcher "${culprit.label}" ${running ? "was stuck in synchronous code" : why}`,
      culprit,
      blameAll: false,
      duringLoad: false,
    });
  }

  /** Whether `session`'s synchronous code is running in the worker right now. */
  isRunning(session: WorkerSession): boolean {
    return Atomics.load(this.#busy, BUSY_CALLING) === session.id;
  }

  #unexpectedExit(code: number): void {
    this.#gone = true;
    const calling = this.sessions.get(Atomics.load(this.#busy, BUSY_CALLING));
    const loading = this.sessions.get(Atomics.load(this.#busy, BUSY_LOADING));
    const culprit = calling ?? loading;
    const how = culprit ? ` while running the source of watcher "${culprit.label}"` : "";
    const error = this.#lastError ? ` (${this.#lastError})` : "";
    this.onDeath(this, {
      reason: `worker exited unexpectedly with code ${code}${how}${error}`,
      culprit,
      blameAll: culprit === undefined,
      duringLoad: culprit !== undefined && culprit === loading && calling === undefined,
    });
  }
}
