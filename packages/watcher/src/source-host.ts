/**
 * Hosts module sources for one isolate, whatever carries its messages: it imports each session's
 * module, runs polls on request and pumps streams back in batches. A Worker (worker-entry.ts) and a
 * subprocess run this same code; only the transport differs. Internal.
 */
import { Cleanups, type CleanupWatch } from "./cleanups.ts";
import { abortCall, type LazyAbort, signalOf } from "./lazy-abort.ts";
import {
  BUSY_CALLING,
  BUSY_LOADING,
  type FromWorker,
  Outbox,
  rescueMessage,
  type SourceSpec,
  serializeError,
  type ToWorker,
} from "./protocol.ts";
import { pump, settledOrNextTurn } from "./pump.ts";
import { StreamRun } from "./stream-run.ts";
import type { SourceCleanup, StreamLike } from "./types.ts";

type SourceFn = (...args: unknown[]) => unknown;

/** How the host reaches the main side. */
export interface HostTransport {
  /** Posts at once; throws when the message cannot be cloned. */
  post(message: FromWorker): void;
  /** Told of the subprocesses a session registers with `onClose` (see owned-pids.ts). */
  watch?(id: number): CleanupWatch;
}

interface Session {
  id: number;
  spec: SourceSpec;
  fn: Promise<SourceFn | undefined>;
  /** The loaded function, once `fn` has resolved: a poll then starts without an await. */
  loaded: SourceFn | undefined;
  /**
   * The poll in flight, if any. One slot is enough: a watcher polls again only after its last
   * poll settled or timed out, and a timed-out call is cancelled (dropped here) before the next.
   */
  call: Call | undefined;
  stream: StreamRun | undefined;
  /** What polls registered with `onClose`; made at the first registration. */
  cleanups: Cleanups | undefined;
}

/** One poll; its signal is made only if the source reads it (see lazy-abort.ts). */
interface Call extends LazyAbort {
  id: number;
  done: Promise<void> | undefined;
}

/**
 * Sessions of one source without arguments share one spec instead of each holding a clone of it
 * (10,000 module watchers of one export are 10,000 equal specs).
 */
const specs = new Map<string, SourceSpec>();
function shared(spec: SourceSpec): SourceSpec {
  if (spec.args.length > 0) return spec;
  const key = `${spec.mode}\0${spec.export}\0${spec.url}`;
  const known = specs.get(key);
  if (known !== undefined) return known;
  specs.set(key, spec);
  return spec;
}

/**
 * Which session runs user code now (see BUSY_CALLING): shared with the main thread by a Worker's
 * "init"; a subprocess hosts one session, so its own array serves.
 */
let busy: Int32Array<ArrayBufferLike> = new Int32Array(2);
const sessions = new Map<number, Session>();
let transport: HostTransport | undefined;

const outbox = new Outbox<FromWorker>(
  (message) => transport?.post(message as FromWorker),
  rescueMessage,
);
const send = (message: FromWorker) => outbox.push(message);
const markBusy = (id: number) => Atomics.store(busy, BUSY_CALLING, id);

/** Starts hosting; returns the handler of the main side's messages. */
export function hostSources(given: HostTransport): (message: ToWorker) => void {
  transport = given;
  return handle;
}

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

function open(id: number, given: SourceSpec): void {
  const spec = shared(given);
  const fn = load(id, spec).then(
    (loaded) => {
      const session = sessions.get(id);
      if (session) session.loaded = loaded;
      // Posted at once, not batched: the main thread starts the poll timeout from here, and a
      // poll that hangs the host right after would keep a batched message from ever leaving.
      transport?.post({ t: "loaded", id });
      return loaded;
    },
    (error) => {
      send({ t: "load-error", id, error: serializeError(error) });
      return undefined;
    },
  );
  sessions.set(id, {
    id,
    spec,
    fn,
    loaded: undefined,
    call: undefined,
    stream: undefined,
    cleanups: undefined,
  });
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

/**
 * Polls between two nudges of this isolate's garbage collector (`Bun.gc(false)`: asynchronous, and
 * mimalloc hands back freed pages). A worker's per-poll garbage (messages, contexts, values) is
 * otherwise collected late: 10,000 module watchers at 1 Hz added 48–58 MB RSS without it,
 * 41–44 MB with it, same CPU. A worker hosting 5,000 watchers at 1 Hz nudges once a second; one
 * hosting ten, once in 500 s.
 */
const POLLS_PER_GC = 5_000;
let pollsSinceGc = 0;

function call(id: number, callId: number): void {
  if (++pollsSinceGc === POLLS_PER_GC) {
    pollsSinceGc = 0;
    Bun.gc(false);
  }
  const session = sessions.get(id);
  if (!session) return;
  const pending: Call = {
    id: callId,
    controller: undefined,
    aborted: false,
    reason: undefined,
    done: undefined,
  };
  const fn = session.loaded;
  if (fn) {
    run(session, fn, pending);
    return;
  }
  session.call = pending;
  pending.done = loadThenRun(session, pending);
}

async function loadThenRun(session: Session, pending: Call): Promise<void> {
  const fn = await session.fn;
  if (session.call === pending) session.call = undefined;
  if (fn && !pending.aborted) run(session, fn, pending);
}

/**
 * Runs one poll of a loaded source. A value returned as is leaves at once; only a promise (or
 * thenable) is awaited and tracked in `session.call`, so a synchronous poll costs no promise here.
 */
function run(session: Session, fn: SourceFn, pending: Call): void {
  const id = session.id;
  const args = session.spec.args;
  // The source sees `signal` and `onClose`, own properties (so `{ ...context }` keeps them).
  const context = {
    get signal() {
      return signalOf(pending);
    },
    onClose: (cleanup: SourceCleanup) => cleanupsOf(session).add(cleanup),
  };
  let result: unknown;
  Atomics.store(busy, BUSY_CALLING, id);
  try {
    result = args.length === 0 ? fn(context) : fn(...args, context);
  } catch (error) {
    if (sessions.has(id))
      send({ t: "fail", id, call: pending.id, error: serializeError(error), clone: false });
    return;
  } finally {
    Atomics.store(busy, BUSY_CALLING, 0);
  }
  if (isThenable(result)) {
    session.call = pending;
    pending.done = settle(session, pending, result);
  } else if (sessions.has(id)) send({ t: "value", id, call: pending.id, value: result });
}

function cleanupsOf(session: Session): Cleanups {
  session.cleanups ??= new Cleanups(transport?.watch?.(session.id));
  return session.cleanups;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

async function settle(
  session: Session,
  pending: Call,
  result: PromiseLike<unknown>,
): Promise<void> {
  const id = session.id;
  try {
    const value = await result;
    if (sessions.has(id)) send({ t: "value", id, call: pending.id, value });
  } catch (error) {
    if (sessions.has(id))
      send({ t: "fail", id, call: pending.id, error: serializeError(error), clone: false });
  } finally {
    if (session.call === pending) session.call = undefined;
  }
}

/** The main thread gave up on this call (timeout): abort it and stop tracking it, so close() does not wait on it. */
function cancel(id: number, callId: number): void {
  const session = sessions.get(id);
  const pending = session?.call;
  if (!session || pending?.id !== callId) return;
  session.call = undefined;
  abortCall(pending, new Error("poll timed out"));
}

function runUser<T>(id: number, fn: () => T): T {
  markBusy(id);
  try {
    return fn();
  } finally {
    markBusy(0);
  }
}

function startStream(id: number): void {
  const session = sessions.get(id);
  if (!session || session.stream) return;
  const run = new StreamRun(id, send, new Cleanups(transport?.watch?.(id)));
  session.stream = run;
  const control = {
    get closed() {
      return run.closed;
    },
    busy: (on: boolean) => markBusy(on ? id : 0),
    signal: run.controller.signal,
  };
  run.done = (async () => {
    let error: unknown;
    try {
      const fn = await session.fn;
      if (!fn || run.closed) return;
      const context = { signal: run.controller.signal, onClose: run.onClose };
      const source = await runUser(id, () => fn(...session.spec.args, context));
      if (run.closed) return;
      await pump(source as StreamLike<unknown>, run, control);
    } catch (caught) {
      error = caught;
    } finally {
      // Before "end": a stream the watcher reopens must not meet its predecessor's resources.
      await run.cleanups.run();
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
 * code keeps this host from answering, and the main thread kills it after `stopTimeout`.
 */
async function close(id: number): Promise<void> {
  const session = sessions.get(id);
  if (!session) {
    send({ t: "closed", id });
    return;
  }
  sessions.delete(id);
  const stream = session.stream;
  const pending = session.call;
  runUser(id, () => {
    stream?.close();
    if (pending) abortCall(pending, new Error("watcher stopped"));
  });
  await settledOrNextTurn(Promise.all([stream?.done, pending?.done]));
  // Made here if the polls registered nothing yet: a poll that ignored its abort and registers
  // later must find a closed list, whose additions run at once (a fresh one would never run).
  await Promise.all([stream?.cleanups.run(), cleanupsOf(session).run()]);
  send({ t: "closed", id });
}
