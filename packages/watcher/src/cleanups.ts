/**
 * The cleanups a source registers with `context.onClose()`, run once when what they belong to
 * closes: a poll watcher's run (at stop) or one stream (when it ends or the watcher stops). The
 * same code runs on the main thread, in a Worker and in a subprocess. Internal.
 */
import type { SourceCleanup } from "./types.ts";

/** What a registered cleanup holds that the main thread can end for a killed Worker. */
export type Held = { pid: number } | { fd: number };

/** Told of each registered cleanup that holds a process or an fd (for a Worker, see owned-pids.ts). */
export interface CleanupWatch {
  added(held: Held): void;
  removed(held: Held): void;
}

interface Entry {
  cleanup: SourceCleanup;
  /** Read at registration: a closed `FileHandle`'s `fd` reads -1. */
  held: Held | undefined;
}

/** The pid of a cleanup that is a process (`Bun.spawn`'s subprocess, or anything with `pid` and `kill`). */
export function pidOf(cleanup: SourceCleanup): number | undefined {
  if (typeof cleanup !== "object" || cleanup === null) return undefined;
  const { pid, kill } = cleanup as { pid?: unknown; kill?: unknown };
  return typeof pid === "number" && typeof kill === "function" ? pid : undefined;
}

/**
 * The fd of a disposable cleanup that has one: a `FileHandle` (`fs/promises` `open()`), or
 * `{ fd, [Symbol.dispose]() }` around a number from `openSync`.
 */
function fdOf(cleanup: SourceCleanup): number | undefined {
  if (typeof cleanup !== "object" || cleanup === null) return undefined;
  const c = cleanup as {
    fd?: unknown;
    [Symbol.asyncDispose]?: unknown;
    [Symbol.dispose]?: unknown;
  };
  const disposable =
    typeof c[Symbol.asyncDispose] === "function" || typeof c[Symbol.dispose] === "function";
  return disposable && Number.isInteger(c.fd) && (c.fd as number) >= 0
    ? (c.fd as number)
    : undefined;
}

function heldBy(cleanup: SourceCleanup): Held | undefined {
  const pid = pidOf(cleanup);
  if (pid !== undefined) return { pid };
  const fd = fdOf(cleanup);
  return fd === undefined ? undefined : { fd };
}

export class Cleanups {
  #list: Entry[] = [];
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
    const entry: Entry = { cleanup, held: this.watch ? heldBy(cleanup) : undefined };
    this.#list.push(entry);
    if (entry.held) this.watch?.added(entry.held);
    return () => {
      const index = this.#list.lastIndexOf(entry);
      if (index < 0) return;
      this.#list.splice(index, 1);
      if (entry.held) this.watch?.removed(entry.held);
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
      const { cleanup, held } = list[i] as Entry;
      // An fd is forgotten before it is closed, a process after it ended: were the Worker killed
      // in between, the main thread would then leave an fd open (never close a number the host
      // reopened) and kill nothing that is not still that child.
      const fd = held !== undefined && "fd" in held;
      if (fd) this.watch?.removed(held);
      await runOne(cleanup);
      if (held && !fd) this.watch?.removed(held);
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
