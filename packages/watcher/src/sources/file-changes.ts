/**
 * `fileChanges(path)`: a stream source of the changes to a file or the files of a folder, from
 * node:fs `watch`. It runs on the calling thread; the watch costs it nothing between events.
 *
 * One save is a burst of events (a truncate and a few writes, or a write to a temporary file and a
 * rename over the old one), so events are coalesced per path: a path's event is yielded once the
 * path has been quiet for `debounce`, or at the latest `debounce` × 10 after the burst began, so a
 * file written without pause is still reported. Within a burst `"rename"` wins over `"change"`:
 * the file came, went or was replaced, which says more than that its content changed.
 */

import { type FSWatcher, watch } from "node:fs";
import { join } from "node:path";
import { type Duration, durationSchema } from "@specter/core";
import { z } from "zod";
import type { SourceContext } from "../types.ts";
import { parseSourceOptions } from "./source-options.ts";
import { Wake } from "./wake.ts";

/** What happened to a path: `"rename"` when it was created, deleted or renamed. */
export interface FileChange {
  type: "change" | "rename";
  /** The file's path: `path` itself when a file is watched, else `path` joined with its name. */
  path: string;
}

export interface FileChangesOptions {
  /** A folder's subfolders too (default `false`). */
  recursive?: boolean;
  /** How long a path must be quiet before its event is yielded (default `"50ms"`; 0 for none). */
  debounce?: Duration;
}

/** A burst of events for one path is reported at the latest this many debounce periods after it began. */
const MAX_WAIT_FACTOR = 10;

const changesSchema = z.strictObject({
  path: z.string({ error: "a file or folder path" }).min(1, { error: "a file or folder path" }),
  recursive: z.boolean({ error: "true or false" }).default(false),
  debounce: durationSchema().default(50),
});

type Changes = z.output<typeof changesSchema>;

/**
 * A stream source that yields `{ type, path }` for each change to the file or folder at `path`
 * (the folder's files, and with `recursive` those of its subfolders). The path must exist: a
 * missing one fails the stream, and the Watcher retries with its backoff.
 * @throws {OptionsError} for a bad path or option, before anything is watched.
 */
export function fileChanges(
  path: string,
  options?: FileChangesOptions,
): (context: SourceContext) => AsyncIterable<FileChange> {
  const context = `fileChanges(${JSON.stringify(path)})`;
  const o = parseSourceOptions(changesSchema, path, options, context);
  return ({ signal }) => changes(o, signal);
}

/** A path's burst of events, not yet yielded. */
interface Burst {
  type: FileChange["type"];
  began: number;
  timer: ReturnType<typeof setTimeout>;
}

async function* changes(o: Changes, signal: AbortSignal): AsyncGenerator<FileChange> {
  const bursts = new Map<string, Burst>();
  /** Ready to yield, by path: a path whose event waits for the consumer is merged, not repeated. */
  const ready = new Map<string, FileChange["type"]>();
  const wake = new Wake();
  let failure: { error: unknown } | undefined;
  const isFolder = (await Bun.file(o.path).stat()).isDirectory();

  const settle = (path: string) => {
    const burst = bursts.get(path);
    if (!burst) return;
    bursts.delete(path);
    const type = ready.get(path) === "rename" ? "rename" : burst.type;
    ready.delete(path);
    ready.set(path, type);
    wake.notify();
  };

  const onEvent = (event: string, filename: string | null) => {
    const path = isFolder && filename ? join(o.path, filename) : o.path;
    const type = event === "rename" ? "rename" : "change";
    const now = performance.now();
    const burst = bursts.get(path);
    if (burst) clearTimeout(burst.timer);
    const began = burst?.began ?? now;
    const wait = Math.max(0, Math.min(o.debounce, began + o.debounce * MAX_WAIT_FACTOR - now));
    bursts.set(path, {
      type: burst?.type === "rename" ? "rename" : type,
      began,
      timer: setTimeout(() => settle(path), wait),
    });
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(o.path, { recursive: o.recursive }, onEvent);
    watcher.on("error", (error) => {
      failure = { error };
      wake.notify();
    });
    while (!signal.aborted) {
      if (failure) throw failure.error;
      for (const [path, type] of ready) {
        ready.delete(path);
        yield { type, path };
        if (signal.aborted) return;
      }
      // Nothing to do until an event settles: the long wait is only a backstop.
      await wake.sleep(60_000, signal);
    }
  } finally {
    watcher?.close();
    for (const burst of bursts.values()) clearTimeout(burst.timer);
    bursts.clear();
  }
}
