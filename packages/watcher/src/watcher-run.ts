/**
 * One `start()` of a watcher. Its `due()` is the shared ticker's callback and its `restarted()`
 * the session's event, with no closure per run: they reach the watcher through `runHooks`, which
 * `Watcher` sets once. Internal.
 */
import type { Run } from "./run.ts";
import type { PollSession, SessionEvents, StreamSession } from "./session.ts";
import type { Watcher } from "./watcher.ts";

// biome-ignore lint/suspicious/noExplicitAny: a run serves watchers of every value type
type AnyWatcher = Watcher<any, any>;

/** Set by `Watcher`'s static block: its private methods, for the run. */
export const runHooks = {
  due: (_run: WatcherRun): void => {},
  restarted: (_run: WatcherRun, _reason: string): void => {},
};

export class WatcherRun implements Run, SessionEvents {
  closed = false;
  session = undefined as unknown as PollSession | StreamSession;
  at = 0;
  slot = -1;
  anchor = 0;
  tick = 0;
  retryAt: number | undefined = undefined;

  constructor(readonly watcher: AnyWatcher) {}

  due(): void {
    runHooks.due(this);
  }

  /** The session's events: its source was restarted in another worker. */
  restarted(reason: string): void {
    runHooks.restarted(this, reason);
  }
}
