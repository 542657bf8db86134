/**
 * Where a watcher's source runs: a function source on the calling thread, a module source in a
 * shared or a dedicated Worker, or in a subprocess. Chosen once per start() from the validated
 * options.
 */
import { LocalPollSession, LocalStreamSession } from "./local-session.ts";
import type { WatcherConfig } from "./options.ts";
import { listenForOwned, releaseOwned } from "./owned-pids.ts";
import { WorkerPool } from "./pool.ts";
import { ProcessSession } from "./process-session.ts";
import type { SourceSpec } from "./protocol.ts";
import type { PollSession, SessionEvents, StreamSession, StreamSink } from "./session.ts";
import type { Isolation, PollFunction, StreamFunction } from "./types.ts";
import { WorkerSession } from "./worker-session.ts";

export function isolationOf(config: WatcherConfig): Isolation {
  if (config.source.kind === "function") return "thread";
  if (config.isolation === "process") return "process";
  return config.worker === "dedicated" ? "dedicated-worker" : "shared-worker";
}

/** Opens the session of one run; `sink` is given in stream mode. */
export function openSession(
  config: WatcherConfig,
  events: SessionEvents,
  sink: StreamSink | undefined,
  name: string,
): PollSession | StreamSession {
  const { source } = config;
  if (source.kind === "function") {
    return sink
      ? new LocalStreamSession(source.fn as StreamFunction<unknown>, sink)
      : new LocalPollSession(source.fn as PollFunction<unknown>);
  }
  // The resolved module is already what a worker is told to load (one object, made at construction).
  const spec: SourceSpec = source.module;
  if (config.isolation === "process") return new ProcessSession(spec, events, sink);
  const pool =
    config.worker === "dedicated"
      ? new WorkerPool({ size: 1 })
      : (config.pool ?? WorkerPool.default);
  listenForOwned();
  // A source's registered subprocesses and fds outlive a Worker that died before its cleanups
  // ran: end them when the session moves to a new Worker and when it closes (stop() waits).
  const session = new WorkerSession(
    name,
    spec,
    pool,
    isolationOf(config),
    { restarted: (reason) => releaseThen(session.id, () => events.restarted(reason)) },
    sink,
  );
  const close = session.close.bind(session);
  session.close = (stopTimeout) => close(stopTimeout).finally(() => releaseOwned(session.id));
  return session;
}

function releaseThen(id: number, then: () => void): void {
  void releaseOwned(id);
  then();
}
