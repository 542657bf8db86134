/** One Bun Worker hosting many sessions, and the kill switch for it. Internal; see `WorkerPool`. */
import {
  BUSY_CALLING,
  BUSY_LOADING,
  type FromWorker,
  Outbox,
  type ThreadMessage,
  type ToWorker,
} from "./protocol.ts";
import { freeStuckThread, type OsThread, osThread } from "./thread-children.ts";
import type { WorkerSession } from "./worker-session.ts";

const ENTRY = new URL("./worker-entry.ts", import.meta.url).href;

/**
 * How long a terminated worker's thread may take to end before it counts as stuck in a native
 * call. `terminate()` interrupts JavaScript: a worker spinning in `for (;;) {}` sent its `close`
 * 5–7 ms after `terminate()` here. A thread blocked in `Bun.sleepSync` cannot be interrupted and
 * ends only when that call returns (30 s for a 30 s sleep); one in `Bun.spawnSync` ends 100 ms
 * after `terminate()`, when the main thread kills its child (see thread-children.ts).
 */
export const UNKILLABLE_AFTER = 500;

/** How a worker went away, for the sessions it hosted. */
export interface WorkerDeath {
  reason: string;
  /** The session to blame (its calls fail); the others move on unharmed. */
  culprit: WorkerSession | undefined;
  /** The culprit died loading its module: it is not retried. */
  duringLoad: boolean;
  /**
   * The culprit killed its worker outside any call (a timer of its own threw or exited) and is
   * known only because it was alone on that worker: it is quarantined on a worker of its own.
   */
  outsideCall: boolean;
  /**
   * No culprit is known: nobody's call fails, and the pool splits the sessions over fresh workers
   * to find it. `suspect` is the session whose module was loading, which goes apart first.
   */
  suspect: WorkerSession | undefined;
}

export class HostWorker {
  readonly sessions = new Map<number, WorkerSession>();
  /** Resolves on the worker's `close` event: only then has its thread ended. */
  readonly exited: Promise<void>;
  /** The thread has ended (`close` was seen). */
  closed = false;
  /** `performance.now()` when it was told to terminate; 0 while it runs. */
  terminatedAt = 0;
  /** The worker's OS thread, as it reported it at start (undefined without /proc). */
  thread: OsThread | undefined;
  #worker: Worker;
  #busy = new Int32Array(new SharedArrayBuffer(8));
  #gone = false;
  #lastError: string | undefined;
  /** Ends the watch of `freeStuckThread` once the thread has ended. */
  #freed: (() => void) | undefined;
  #outbox: Outbox<ToWorker>;

  constructor(
    private readonly onDeath: (host: HostWorker, death: WorkerDeath) => void,
    private readonly onClose: (host: HostWorker) => unknown,
  ) {
    this.#worker = new Worker(ENTRY);
    const { promise, resolve } = Promise.withResolvers<void>();
    this.exited = promise;
    this.#worker.addEventListener("close", (event) => {
      this.closed = true;
      this.#freed?.();
      if (!this.#gone) this.#unexpectedExit((event as CloseEvent).code);
      this.onClose(this);
      resolve();
    });
    this.#worker.addEventListener("error", (event) => {
      // An uncaught error in a source's own callbacks; the "close" that follows reports it.
      // Bun puts a code frame before the message; keep the "error: ..." line.
      const text = String((event as ErrorEvent).message ?? "");
      this.#lastError = /^error: (.*)$/m.exec(text)?.[1] ?? text.split("\n")[0];
    });
    this.#outbox = new Outbox((message) => this.#worker.postMessage(message));
    this.#worker.onmessage = (event: MessageEvent<FromWorker | ThreadMessage>) => {
      const message = event.data;
      if (message.t === "thread") this.thread = osThread(message.tid);
      else this.#receive(message);
    };
    this.post({ t: "init", busy: this.#busy.buffer as SharedArrayBuffer });
  }

  /** Still accepting work (not terminated, not exited). */
  get alive(): boolean {
    return !this.#gone;
  }

  /** Terminated more than UNKILLABLE_AFTER ago and its thread still runs (a native call). */
  get unkillable(): boolean {
    return (
      !this.closed &&
      this.terminatedAt > 0 &&
      performance.now() - this.terminatedAt >= UNKILLABLE_AFTER
    );
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

  /** Ends the worker (it has no sessions left); resolves once its thread is gone. */
  terminate(): Promise<void> {
    this.#end();
    return this.exited;
  }

  #end(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.terminatedAt = performance.now();
    this.#outbox.clear();
    this.#worker.terminate();
    this.#freed = freeStuckThread(this);
  }

  /**
   * `late`'s poll or close did not finish in time: kill the worker. The blame goes to the session
   * whose synchronous code is running now, if any (it is what blocks the worker); else, when a
   * module is loading, to that module if it is alone, or it is only a suspect (its top level may
   * be what blocks the worker, or a neighbour's stray timer); else to `late`.
   */
  kill(late: WorkerSession, why: string): void {
    if (this.#gone) return;
    const running = this.sessions.get(Atomics.load(this.#busy, BUSY_CALLING));
    const loading = running ? undefined : this.#loadingNow();
    this.#end();
    if (running || !loading) {
      const culprit = running ?? late;
      const how = running ? "was stuck in synchronous code" : why;
      this.#died(`worker killed: the source of watcher "${culprit.label}" ${how}`, culprit);
      return;
    }
    const stuck = `the module of watcher "${loading.label}" was loading`;
    if (this.sessions.size === 1) {
      this.#died(
        `worker killed: it did not answer while ${stuck} (stuck at its top level)`,
        loading,
        {
          duringLoad: true,
        },
      );
      return;
    }
    this.#died(`worker killed: it did not answer while ${stuck}`, undefined, { suspect: loading });
  }

  /**
   * `culprit`'s source ran out of memory (it reported JavaScriptCore's "Out of memory"): what it
   * still holds stays allocated in this worker until the worker ends, so it is replaced.
   */
  recycle(culprit: WorkerSession): void {
    if (this.#gone) return;
    this.#end();
    this.#died(
      `worker recycled: the source of watcher "${culprit.label}" ran out of memory`,
      culprit,
    );
  }

  /** Whether `session`'s synchronous code is running in the worker right now. */
  isRunning(session: WorkerSession): boolean {
    return Atomics.load(this.#busy, BUSY_CALLING) === session.id;
  }

  /** The session the loading slot names, if its module has not loaded yet. */
  #loadingNow(): WorkerSession | undefined {
    const loading = this.sessions.get(Atomics.load(this.#busy, BUSY_LOADING));
    return loading && !loading.loaded ? loading : undefined;
  }

  #died(
    reason: string,
    culprit: WorkerSession | undefined,
    more: Partial<Pick<WorkerDeath, "duringLoad" | "outsideCall" | "suspect">> = {},
  ): void {
    this.onDeath(this, {
      reason,
      culprit,
      duringLoad: more.duringLoad ?? false,
      outsideCall: more.outsideCall ?? false,
      suspect: more.suspect,
    });
  }

  /**
   * The worker ended by itself. A session in a call is to blame. Outside any call (a source's
   * timer threw or called `process.exit`) the culprit is known only when one session was there;
   * otherwise nobody is blamed and the pool splits the sessions to find it.
   */
  #unexpectedExit(code: number): void {
    this.#gone = true;
    const error = this.#lastError ? ` (${this.#lastError})` : "";
    const calling = this.sessions.get(Atomics.load(this.#busy, BUSY_CALLING));
    if (calling) {
      this.#died(
        `worker exited unexpectedly with code ${code} while running the source of watcher "${calling.label}"${error}`,
        calling,
      );
      return;
    }
    const [only, ...others] = this.sessions.values();
    if (only && others.length === 0) {
      const duringLoad = !only.loaded;
      this.#died(`worker exited unexpectedly with code ${code}${error}`, only, {
        duringLoad,
        outsideCall: !duringLoad,
      });
      return;
    }
    this.#died(
      `worker exited unexpectedly with code ${code} outside any call, culprit not yet known${error}`,
      undefined,
      { suspect: this.#loadingNow() },
    );
  }
}
