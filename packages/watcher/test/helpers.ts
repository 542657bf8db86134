import { afterEach } from "bun:test";
import { Watcher, type WatcherError, type WatcherState } from "../src/index.ts";

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

/** Returns a `new Watcher(...)` that is stopped after each test of the file. */
export function stoppedAfterEach() {
  const made: Watcher<unknown, unknown>[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((w) => w.stop()));
  });
  return function make<T, V = T>(
    ...args: ConstructorParameters<typeof Watcher<T, V>>
  ): Watcher<T, V> {
    const w = new Watcher<T, V>(...args);
    made.push(w as Watcher<unknown, unknown>);
    return w;
  };
}
