/**
 * The program inside a source worker: source-host.ts over the Worker's postMessage. Internal.
 */
import { announceOwned } from "./owned-notes.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";
import { hostSources } from "./source-host.ts";

declare const self: Worker;

const handle = hostSources({
  post: (message: FromWorker) => self.postMessage(message),
  watch: announceOwned(),
});
self.onmessage = (event: MessageEvent<ToWorker>) => handle(event.data);
