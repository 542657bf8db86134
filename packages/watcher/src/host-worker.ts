/** One Bun Worker hosting many sessions, and the kill switch for it. Internal; see `WorkerPool`. */
import {
  BUSY_CALLING,
  BUSY_LOADING,
  BUSY_SEEN,
  BUSY_SLOTS,
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
  #busy = new Int32Array(new SharedArrayBuffer(4 * BUSY_SLOTS));
  /** postMessage events sent to the worker; BUSY_SEEN counts those it has taken. */
  #sent = 0;
  /**
   * Per session, the number its last "cancel" or "close" will have among the posts: the worker's
   * loop turned after it only once BUSY_SEEN reaches it.
   */
  #awaited = new Map<number, { at: number; what: "cancel" | "close" }>();
  /** Sessions with a call in flight (posted, not yet answered or cancelled). */
  #calls = new Set<number>();
  /** Called once no call is in flight (see whenIdle). */
  #idle: (() => void) | undefined;
  /** Pending looks at whether the worker's loop runs (see watchLoad). */
  #probes = new Set<Timer>();
  #gone = false;
  #lastError: string | undefined;
  /** Ends the watch of `freeStuckThread` once the thread has ended. */
  #freed: (() => void) | undefined;
  #outbox: Outbox<ToWorker>;

  constructor(
    private readonly onDeath: (host: HostWorker, death: WorkerDeath) => void,
    private readonly onClose: (host: HostWorker) => unknown,
    /** How long the worker has to take a message before its loop counts as blocked. */
    private readonly hangGrace: number,
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
    this.#outbox = new Outbox((message) => {
      this.#worker.postMessage(message);
      this.#sent++;
    });
    this.#worker.onmessage = (event: MessageEvent<FromWorker | ThreadMessage>) => {
      const message = event.data;
      if (message.t === "thread") this.thread = osThread(message.tid);
      else this.#receive(message);
    };
    // Alone, not batched: the worker finds the heartbeat's array in its first message.
    this.#worker.postMessage({ t: "init", busy: this.#busy.buffer as SharedArrayBuffer });
    this.#sent++;
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
    if (this.#gone) return;
    this.#outbox.push(message);
    // The outbox posts what it holds at once at its next flush: this message goes with post #sent + 1.
    if (message.t === "cancel" || message.t === "close") {
      this.#awaited.set(message.id, { at: this.#sent + 1, what: message.t });
      this.#settled(message.id);
    } else if (message.t === "call") this.#calls.add(message.id);
  }

  /** `fn` runs once no call is in flight on this worker (at once if none is); streams do not count. */
  whenIdle(fn: () => void): void {
    this.#idle = fn;
    if (this.#calls.size === 0) queueMicrotask(() => this.#settled(undefined));
  }

  #settled(id: number | undefined): void {
    if (id !== undefined) this.#calls.delete(id);
    const idle = this.#idle;
    if (idle && this.#calls.size === 0 && !this.#gone) {
      this.#idle = undefined;
      idle();
    }
  }

  /** Whether the worker's loop has turned since `late`'s last cancel or close was posted. */
  #answered(late: WorkerSession): boolean {
    const awaited = this.#awaited.get(late.id);
    return awaited === undefined || Atomics.load(this.#busy, BUSY_SEEN) >= awaited.at;
  }

  /**
   * `session`'s module has not loaded `after` ms into its call: if the worker's loop is blocked
   * now (a ping is not taken within hangGrace) while another session's module loads or nothing
   * does, `blocked` runs: the load allowance is for a slow start, not for a worker something else
   * blocks. Without this a neighbour whose import had not answered when a module spun at its top
   * level waited its whole allowance (5.2 s of a 200 ms timeout) before anyone was killed.
   */
  watchLoad(session: WorkerSession, after: number, blocked: () => void): void {
    const look = (ms: number, then: () => void) => {
      const timer = setTimeout(() => {
        this.#probes.delete(timer);
        if (!this.#gone && !session.loaded && this.sessions.get(session.id) === session) then();
      }, ms);
      this.#probes.add(timer);
    };
    look(after, () => {
      this.post({ t: "ping" });
      const at = this.#sent + 1;
      look(this.hangGrace, () => {
        const stalled = Atomics.load(this.#busy, BUSY_SEEN) < at;
        if (stalled && Atomics.load(this.#busy, BUSY_LOADING) !== session.id) blocked();
      });
    });
  }

  #receive(message: FromWorker): void {
    if (message.t === "batch") {
      for (const m of message.messages) this.#receive(m);
      return;
    }
    const t = message.t;
    if (t === "value" || t === "fail" || t === "load-error" || t === "closed") {
      // Sent after the worker took every earlier post: its loop has turned since.
      this.#awaited.delete(message.id);
      this.#settled(message.id);
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
    for (const timer of this.#probes) clearTimeout(timer);
    this.#probes.clear();
    this.#idle = undefined;
    this.#worker.terminate();
    this.#freed = freeStuckThread(this);
  }

  /**
   * `late`'s poll or close did not finish in time: kill the worker. The blame goes to the session
   * whose synchronous code is running now, if any (it is what blocks the worker). Else, if the
   * worker took `late`'s cancel (or close), its loop runs and `late` ignored its signal: blame it.
   * Else the loop is blocked outside any call: by a module loading at its top level (blamed if
   * alone, else only a suspect), or by a leftover timer of anyone (a death outside any call).
   */
  kill(late: WorkerSession, why: string): void {
    if (this.#gone) return;
    const running = this.sessions.get(Atomics.load(this.#busy, BUSY_CALLING));
    const answered = !running && this.#answered(late);
    const loading = running || answered ? undefined : this.#loadingNow();
    this.#end();
    if (running || answered) {
      const culprit = running ?? late;
      const how = running ? "was stuck in synchronous code" : why;
      this.#died(`worker killed: the source of watcher "${culprit.label}" ${how}`, culprit);
      return;
    }
    if (!loading) {
      const what = this.#awaited.get(late.id)?.what ?? "cancel";
      this.#outsideAnyCall(
        "worker killed: its event loop was blocked",
        ` (it never took the ${what} of watcher "${late.label}")`,
        false,
      );
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
   * The worker ended by itself. A session in a call is to blame; else it died outside any call.
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
    this.#outsideAnyCall(`worker exited unexpectedly with code ${code}`, error, true);
  }

  /**
   * The worker died, or was found blocked, outside any call (a source's timer threw, exited or
   * spun). The culprit is known only when one session was there; otherwise nobody is blamed and
   * the pool splits the sessions to find it. A lone session whose module had not loaded fails its
   * load when the worker exited (its import did it); a blocked one is not failed for good, as its
   * import may never have started.
   */
  #outsideAnyCall(what: string, detail: string, exited: boolean): void {
    const [only, ...others] = this.sessions.values();
    if (only && others.length === 0 && (exited || only.loaded)) {
      const duringLoad = !only.loaded;
      this.#died(`${what}${detail}`, only, { duringLoad, outsideCall: !duringLoad });
      return;
    }
    this.#died(`${what} outside any call, culprit not yet known${detail}`, undefined, {
      suspect: this.#loadingNow(),
    });
  }
}
