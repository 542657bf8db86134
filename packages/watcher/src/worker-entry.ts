/**
 * The program inside a source worker: source-host.ts over the Worker's postMessage. Internal.
 */
import { threadId } from "./fd-identity.ts";
import { announceOwned } from "./owned-notes.ts";
import type { FromWorker, ThreadMessage, ToWorker } from "./protocol.ts";
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
self.onmessage = (event: MessageEvent<ToWorker>) => handle(event.data);
