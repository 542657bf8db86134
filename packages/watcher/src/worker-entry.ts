/**
 * The program inside a source worker: source-host.ts over the Worker's postMessage. Internal.
 */
import { threadId } from "./fd-identity.ts";
import { announceOwned } from "./owned-notes.ts";
import { BUSY_SEEN, type FromWorker, type ThreadMessage, type ToWorker } from "./protocol.ts";
import { hostSources } from "./source-host.ts";

declare const self: Worker;

// Told once, before any source runs: the main thread needs it to end what this thread spawned if
// it is killed while blocked in a native call (see thread-children.ts).
const tid = threadId();
if (tid !== undefined) self.postMessage({ t: "thread", tid } satisfies ThreadMessage);

const handle = hostSources({
  post: (message: FromWorker) => self.postMessage(message),
  watch: announceOwned(tid),
});
/** The array "init" shares (it is the first message); the heartbeat is its BUSY_SEEN slot. */
let busy: Int32Array | undefined;
self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.t === "init") busy = new Int32Array(message.busy);
  // Counted before handling: a message whose handling blocks was taken, so the loop did turn, and
  // the calling slot names whose code blocks it.
  if (busy) Atomics.add(busy, BUSY_SEEN, 1);
  handle(message);
};
