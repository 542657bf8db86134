/**
 * The cleanups a source registers with `context.onClose()`, run once when what they belong to
 * closes: a poll watcher's run (at stop) or one stream (when it ends or the watcher stops). The
 * same code runs on the main thread, in a Worker and in a subprocess. Internal.
 */
import type { SourceCleanup } from "./types.ts";

/** Told of each registered cleanup that names a process (for a Worker, see owned-pids.ts). */
export interface CleanupWatch {
  added(pid: number): void;
  removed(pid: number): void;
}

/** The pid of a cleanup that is a process (`Bun.spawn`'s subprocess, or anything with `pid` and `kill`). */
export function pidOf(cleanup: SourceCleanup): number | undefined {
  if (typeof cleanup !== "object" || cleanup === null) return undefined;
  const { pid, kill } = cleanup as { pid?: unknown; kill?: unknown };
  return typeof pid === "number" && typeof kill === "function" ? pid : undefined;
}

export class Cleanups {
  #list: SourceCleanup[] = [];
  #closed = false;
  #running: Promise<void> | undefined;

  constructor(private readonly watch?: CleanupWatch) {}

  /** Registers `cleanup`; once closed it runs at once. Returns a function that unregisters it. */
  add(cleanup: SourceCleanup): () => void {
    if (!isCleanup(cleanup)) {
      throw new TypeError(
        "onClose() takes a function, an object with [Symbol.asyncDispose]() or [Symbol.dispose](), or a subprocess (pid and kill())",
      );
    }
    if (this.#closed) {
      void runOne(cleanup);
      return () => {};
    }
    this.#list.push(cleanup);
    const pid = pidOf(cleanup);
    if (pid !== undefined) this.watch?.added(pid);
    return () => {
      const index = this.#list.lastIndexOf(cleanup);
      if (index < 0) return;
      this.#list.splice(index, 1);
      if (pid !== undefined) this.watch?.removed(pid);
    };
  }

  /** Runs every cleanup, the last registered first, each after the previous settled. Once. */
  run(): Promise<void> {
    this.#running ??= this.#run();
    return this.#running;
  }

  async #run(): Promise<void> {
    this.#closed = true;
    const list = this.#list;
    this.#list = [];
    for (let i = list.length - 1; i >= 0; i--) {
      const cleanup = list[i] as SourceCleanup;
      await runOne(cleanup);
      const pid = pidOf(cleanup);
      if (pid !== undefined) this.watch?.removed(pid);
    }
  }
}

function isCleanup(value: unknown): value is SourceCleanup {
  if (typeof value === "function") return true;
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<PropertyKey, unknown>;
  return (
    typeof v[Symbol.asyncDispose] === "function" ||
    typeof v[Symbol.dispose] === "function" ||
    pidOf(value as SourceCleanup) !== undefined
  );
}

/**
 * Runs one cleanup; a failure is written to the console (the source is closing: there is nobody
 * else to tell). A subprocess is disposed (Bun kills it) and its exit awaited.
 */
async function runOne(cleanup: SourceCleanup): Promise<void> {
  try {
    if (typeof cleanup === "function") {
      await cleanup();
      return;
    }
    const c = cleanup as {
      [Symbol.asyncDispose]?: () => PromiseLike<void>;
      [Symbol.dispose]?: () => void;
      kill?: () => void;
      exited?: Promise<unknown>;
    };
    const asyncDispose = c[Symbol.asyncDispose];
    const dispose = c[Symbol.dispose];
    if (typeof asyncDispose === "function") await asyncDispose.call(c);
    else if (typeof dispose === "function") dispose.call(c);
    else c.kill?.();
    if (pidOf(cleanup) !== undefined) await c.exited;
  } catch (error) {
    console.error("[specter] a source's onClose cleanup failed:", error);
  }
}
