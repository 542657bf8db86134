/**
 * An abort signal made only when someone reads it. A poll's source rarely looks at its `signal`,
 * and one AbortController per poll was a measurable share of the cost of 100,000 watchers; a
 * signal read after the poll was aborted is born aborted. Plain objects and functions rather than
 * a class with private fields: one is made for every poll, on the main thread and in workers.
 */
export interface LazyAbort {
  controller: AbortController | undefined;
  aborted: boolean;
  reason: unknown;
}

export function signalOf(call: LazyAbort): AbortSignal {
  let controller = call.controller;
  if (!controller) {
    controller = call.controller = new AbortController();
    if (call.aborted) controller.abort(call.reason);
  }
  return controller.signal;
}

export function abortCall(call: LazyAbort, reason: unknown): void {
  if (call.aborted) return;
  call.aborted = true;
  call.reason = reason;
  call.controller?.abort(reason);
}
