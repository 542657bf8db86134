import type { Watcher, WatcherError, WatcherState } from "../src/index.ts";

export const SOURCES = new URL("./fixtures/sources.ts", import.meta.url);

/** Records what a watcher does, and stops it at the end of the test. */
export function record<T, V>(watcher: Watcher<T, V>) {
  const values: V[] = [];
  const errors: WatcherError[] = [];
  const states: WatcherState[] = [watcher.state];
  /** `nextRetryIn` read at each entry into `backoff`: the delay chosen. */
  const delays: number[] = [];
  watcher.subscribe((v) => {
    values.push(v);
  });
  watcher.onError((e) => {
    errors.push(e);
  });
  watcher.onState((s) => {
    states.push(s);
    if (s === "backoff") delays.push(watcher.health().nextRetryIn ?? -1);
  });
  return { values, errors, states, delays };
}
