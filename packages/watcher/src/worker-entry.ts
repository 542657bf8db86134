/**
 * The program inside a source worker. It hosts many sessions (one per watcher): it imports each
 * session's module, runs polls on request and pumps streams back in batches. Internal.
 */
import {
  BATCH_SIZE,
  BATCH_WINDOW,
  type BadItem,
  BUSY_CALLING,
  BUSY_LOADING,
  type FromWorker,
  ItemBatch,
  Outbox,
  type SourceSpec,
  serializeError,
  type ToWorker,
} from "./protocol.ts";
import { type PumpSink, pump, settledOrNextTurn } from "./pump.ts";
import type { StreamLike } from "./types.ts";

declare const self: Worker;

type SourceFn = (...args: unknown[]) => unknown;

interface Session {
  id: number;
  spec: SourceSpec;
  fn: Promise<SourceFn | undefined>;
  calls: Map<number, { controller: AbortController; done: Promise<void> }>;
  stream: StreamRun | undefined;
}

let busy: Int32Array<ArrayBufferLike> = new Int32Array(2);
const sessions = new Map<number, Session>();

const outbox = new Outbox<FromWorker>((message) => self.postMessage(message), rescue);
const send = (message: FromWorker) => outbox.push(message);

/** A value or items that cannot be cloned become a clone failure, or a batch without them. */
function rescue(message: FromWorker, error: unknown): FromWorker | undefined {
  if (message.t === "value")
    return {
      t: "fail",
      id: message.id,
      call: message.call,
      error: serializeError(error),
      clone: true,
    };
  if (message.t === "items") {
    const { items, bad } = splitUncloneable(message.items);
    // In a JSON batch `items` holds only the snapshots JSON cannot carry, placed at `at`.
    const at = message.at;
    if (at) for (const b of bad) b.index = at[b.index] as number;
    return { ...message, items, bad };
  }
  return undefined;
}

self.onmessage = (event: MessageEvent<ToWorker>) => handle(event.data);

function handle(message: ToWorker): void {
  switch (message.t) {
    case "batch":
      for (const m of message.messages) handle(m);
      return;
    case "init":
      busy = new Int32Array(message.busy);
      return;
    case "open":
      open(message.id, message.spec);
      return;
    case "call":
      call(message.id, message.call);
      return;
    case "cancel":
      cancel(message.id, message.call);
      return;
    case "stream":
      startStream(message.id);
      return;
    case "ack":
      sessions.get(message.id)?.stream?.ack();
      return;
    case "close":
      close(message.id);
      return;
  }
}

function open(id: number, spec: SourceSpec): void {
  const fn = load(id, spec).then(
    (loaded) => {
      // Posted at once, not batched: the main thread starts the poll timeout from here, and a
      // poll that hangs the worker right after would keep a batched message from ever leaving.
      self.postMessage({ t: "loaded", id } satisfies FromWorker);
      return loaded;
    },
    (error) => {
      send({ t: "load-error", id, error: serializeError(error) });
      return undefined;
    },
  );
  sessions.set(id, { id, spec, fn, calls: new Map(), stream: undefined });
}

async function load(id: number, spec: SourceSpec): Promise<SourceFn> {
  Atomics.store(busy, BUSY_LOADING, id);
  let module: Record<string, unknown>;
  try {
    module = await import(spec.url);
  } finally {
    if (Atomics.load(busy, BUSY_LOADING) === id) Atomics.store(busy, BUSY_LOADING, 0);
  }
  const fn = module[spec.export];
  if (typeof fn !== "function") {
    const found = Object.keys(module).join(", ") || "none";
    throw new Error(
      `export "${spec.export}" of ${spec.url} is ${fn === undefined ? "missing" : `a ${typeof fn}, not a function`} (exports: ${found})`,
    );
  }
  return fn as SourceFn;
}

function runUser<T>(id: number, fn: () => T): T {
  Atomics.store(busy, BUSY_CALLING, id);
  try {
    return fn();
  } finally {
    Atomics.store(busy, BUSY_CALLING, 0);
  }
}

function call(id: number, callId: number): void {
  const session = sessions.get(id);
  if (!session) return;
  const controller = new AbortController();
  session.calls.set(callId, { controller, done: runCall(session, callId, controller) });
}

async function runCall(
  session: Session,
  callId: number,
  controller: AbortController,
): Promise<void> {
  const id = session.id;
  try {
    const fn = await session.fn;
    if (!fn || controller.signal.aborted) return;
    const value = await runUser(id, () => fn(...session.spec.args, { signal: controller.signal }));
    if (sessions.has(id)) send({ t: "value", id, call: callId, value });
  } catch (error) {
    if (sessions.has(id))
      send({ t: "fail", id, call: callId, error: serializeError(error), clone: false });
  } finally {
    if (session.calls.get(callId)?.controller === controller) session.calls.delete(callId);
  }
}

/** The main thread gave up on this call (timeout): abort it and stop tracking it, so close() does not wait on it. */
function cancel(id: number, callId: number): void {
  const calls = sessions.get(id)?.calls;
  calls?.get(callId)?.controller.abort(new Error("poll timed out"));
  calls?.delete(callId);
}

/** Batches items for the main thread; at most BATCH_WINDOW batches unacknowledged. */
class StreamRun implements PumpSink<unknown> {
  closed = false;
  readonly controller = new AbortController();
  done: Promise<void> = Promise.resolve();
  #batch = new ItemBatch();
  #credits = BATCH_WINDOW;
  #waiter: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(readonly id: number) {}

  push(item: unknown): boolean {
    this.#batch.push(item);
    return this.#batch.length >= BATCH_SIZE;
  }

  flush(): void | Promise<void> {
    if (this.closed || this.#batch.length === 0) return;
    if (this.#credits === 0) {
      if (!this.#waiter) {
        const { promise, resolve } = Promise.withResolvers<void>();
        this.#waiter = { promise, resolve };
      }
      return this.#waiter.promise;
    }
    this.#send();
  }

  ack(): void {
    this.#credits++;
    const waiter = this.#waiter;
    if (!waiter) return;
    this.#waiter = undefined;
    if (!this.closed) this.#send();
    waiter.resolve();
  }

  /** Sends what is left regardless of credits: the stream is over. */
  drain(): void {
    if (!this.closed && this.#batch.length > 0) this.#send();
  }

  close(): void {
    this.closed = true;
    this.controller.abort(new Error("watcher stopped"));
    this.#waiter?.resolve();
  }

  #send(): void {
    this.#credits--;
    send({ t: "items", id: this.id, ...this.#batch.take() });
  }
}

/** Replaces items that cannot be cloned by `undefined` and lists them, so the rest still arrive. */
function splitUncloneable(items: unknown[]): { items: unknown[]; bad: BadItem[] } {
  const bad: BadItem[] = [];
  const kept = items.map((item, index) => {
    try {
      structuredClone(item);
      return item;
    } catch (error) {
      bad.push({ index, error: serializeError(error) });
      return undefined;
    }
  });
  return { items: kept, bad };
}

function startStream(id: number): void {
  const session = sessions.get(id);
  if (!session || session.stream) return;
  const run = new StreamRun(id);
  session.stream = run;
  const control = {
    get closed() {
      return run.closed;
    },
    busy: (on: boolean) => Atomics.store(busy, BUSY_CALLING, on ? id : 0),
    signal: run.controller.signal,
  };
  run.done = (async () => {
    let error: unknown;
    try {
      const fn = await session.fn;
      if (!fn || run.closed) return;
      const source = await runUser(id, () =>
        fn(...session.spec.args, { signal: run.controller.signal }),
      );
      if (run.closed) return;
      await pump(source as StreamLike<unknown>, run, control);
    } catch (caught) {
      error = caught;
    } finally {
      if (session.stream === run) session.stream = undefined;
    }
    if (run.closed) return;
    run.drain();
    send(error === undefined ? { t: "end", id } : { t: "end", id, error: serializeError(error) });
  })();
}

/**
 * Aborts the session's poll or stream and answers "closed" once they settle or at the next turn of
 * the event loop, whichever is first: a source parked in an await is not waited for. Its abort
 * listeners, `return()` and `cancel()` run synchronously here, so a source stuck in synchronous
 * code keeps this worker from answering, and the main thread kills it after `stopTimeout`.
 */
async function close(id: number): Promise<void> {
  const session = sessions.get(id);
  if (!session) {
    send({ t: "closed", id });
    return;
  }
  sessions.delete(id);
  const stream = session.stream;
  const calls = [...session.calls.values()];
  runUser(id, () => {
    stream?.close();
    for (const { controller } of calls) controller.abort(new Error("watcher stopped"));
  });
  await settledOrNextTurn(Promise.all([stream?.done, ...calls.map((c) => c.done)]));
  send({ t: "closed", id });
}
