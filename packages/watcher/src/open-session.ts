/**
 * Where a watcher's source runs: a function source on the calling thread, a module source in a
 * shared or a dedicated Worker, or in a subprocess. Chosen once per start() from the validated
 * options.
 */
import { LocalPollSession, LocalStreamSession } from "./local-session.ts";
import type { WatcherConfig } from "./options.ts";
import { listenForOwned } from "./owned-pids.ts";
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
  if (config.isolation === "process") return new ProcessSession(name, spec, events, sink);
  const pool =
    config.worker === "dedicated"
      ? new WorkerPool({ size: 1 })
      : (config.pool ?? WorkerPool.default);
  // The notes of what sources register, so a killed Worker's are ended (see owned-pids.ts).
  listenForOwned();
  return new WorkerSession(name, spec, pool, isolationOf(config), events, sink);
}
