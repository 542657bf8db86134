/**
 * `tail(path)`: a stream source that follows a text file like `tail -F`, one line at a time. It
 * runs on the calling thread: its file I/O is asynchronous, so it does not block it.
 *
 * Each check reads the bytes past the offset already read, then compares the path's device and
 * inode with the open file's: another file there means the file was rotated (renamed or deleted,
 * and a new one created), so the rest of the old file is read through the descriptor still open
 * on it before the new file is followed from its start. A size below the offset means the file
 * was truncated, and it is followed from the top. A truncation followed at once by writes longer
 * than what was read before cannot be told from an append, as with `tail -F`.
 */
import type { FileHandle } from "node:fs/promises";
import { open, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { type Duration, durationSchema, type LineOverflow, LineSplitter } from "@specter/core";
import { z } from "zod";
import type { SourceContext } from "../types.ts";
import { DirWatch } from "./dir-watch.ts";
import { parseSourceOptions } from "./source-options.ts";
import { Wake } from "./wake.ts";

export interface TailOptions {
  /**
   * Where to start in the file that is there when the tail starts: `"end"` (default, only lines
   * written from now on) or `"start"`. A file that appears later, or replaces it, is read from its
   * start either way.
   */
  from?: "end" | "start";
  /** Longest wait between checks when no file-system event comes (default `"250ms"`). */
  pollInterval?: Duration;
  /** Longest line held in memory, in UTF-16 code units (default 1 MiB = 1_048_576). */
  maxLineLength?: number;
  /** A longer line is yielded in pieces (`"split"`, default) or cut (`"truncate"`). */
  overflow?: LineOverflow;
}

/** Bytes read at a time: bounds memory for a file that grew by a lot between checks. */
const CHUNK = 64 * 1024;

const LINE_LENGTH = "a whole number of characters, at least 1";

const tailSchema = z.strictObject({
  path: z.string({ error: "a file path" }).min(1, { error: "a file path" }),
  from: z.enum(["end", "start"]).default("end"),
  pollInterval: durationSchema({ positive: true }).default(250),
  maxLineLength: z
    .number({ error: LINE_LENGTH })
    .int({ error: LINE_LENGTH })
    .min(1, { error: LINE_LENGTH })
    .default(1_048_576),
  overflow: z.enum(["split", "truncate"]).default("split"),
});

type Tail = z.output<typeof tailSchema>;

/**
 * A stream source that yields each line of the file at `path` (without its "\n" or "\r\n") as it
 * is written, following the file through truncation and rotation and waiting for it when it is
 * not there. Use it as `new Watcher("log", { stream: tail("/var/log/app.log") })`.
 * @throws {OptionsError} for a bad path or option, before anything is opened.
 */
export function tail(
  path: string,
  options?: TailOptions,
): (context: SourceContext) => AsyncIterable<string> {
  const context = `tail(${JSON.stringify(path)})`;
  const o = parseSourceOptions(tailSchema, path, options, context);
  return ({ signal }) => follow(o, signal);
}

/** The file being read: its descriptor, identity and how far it has been read. */
interface Followed {
  handle: FileHandle;
  dev: bigint;
  ino: bigint;
  offset: number;
}

async function* follow(o: Tail, signal: AbortSignal): AsyncGenerator<string> {
  const lines: string[] = [];
  const splitter = new LineSplitter(o.maxLineLength, o.overflow, (line) => {
    lines.push(line);
  });
  const wake = new Wake();
  const dir = new DirWatch(dirname(o.path), basename(o.path), wake.notify);
  const buffer = new Uint8Array(CHUNK);
  let file: Followed | undefined;
  let atEnd = o.from === "end";

  /** Reads what was written past the offset, yielding lines as they complete. */
  async function* readNew(f: Followed): AsyncGenerator<string, boolean> {
    let progressed = false;
    while (!signal.aborted) {
      const { bytesRead } = await f.handle.read(buffer, 0, CHUNK, f.offset);
      if (bytesRead === 0) break;
      f.offset += bytesRead;
      progressed = true;
      splitter.push(buffer.subarray(0, bytesRead));
      yield* lines.splice(0);
    }
    return progressed;
  }

  /** The file's text so far is over (rotated or truncated): its last line is complete too. */
  function* endOfText(): Generator<string> {
    splitter.end();
    yield* lines.splice(0);
  }

  try {
    while (!signal.aborted) {
      if (!file) {
        file = await openFollowed(o.path, atEnd);
        // Only the file that is there at the first check is read from its end.
        atEnd = false;
      }
      // Started once the first check has settled where reading starts, so a file created after
      // the watch runs is always read from its start. A watch that has just started missed what
      // happened before it: check again at once.
      if (dir.ensure()) wake.notify();
      if (!file) {
        await wake.sleep(o.pollInterval, signal);
        continue;
      }
      const progressed = yield* readNew(file);
      if (signal.aborted) break;
      const now = await identity(o.path);
      if (now && (now.dev !== file.dev || now.ino !== file.ino)) {
        // Rotated: what was written to the old file before the switch comes first.
        yield* readNew(file);
        yield* endOfText();
        const old = file;
        file = undefined;
        await old.handle.close();
        continue;
      }
      if (now && now.size < file.offset) {
        yield* endOfText();
        file.offset = 0;
        continue;
      }
      if (!progressed) await wake.sleep(o.pollInterval, signal);
    }
  } finally {
    dir.close();
    await file?.handle.close();
  }
}

/** Opens the file to follow, or `undefined` when it is not there (yet). */
async function openFollowed(path: string, atEnd: boolean): Promise<Followed | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if (missing(error)) return undefined;
    throw error;
  }
  try {
    const s = await handle.stat({ bigint: true });
    return { handle, dev: s.dev, ino: s.ino, offset: atEnd ? Number(s.size) : 0 };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** What is at the path now, or `undefined` when nothing is (deleted, not yet created again). */
async function identity(
  path: string,
): Promise<{ dev: bigint; ino: bigint; size: number } | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    return { dev: s.dev, ino: s.ino, size: Number(s.size) };
  } catch (error) {
    if (missing(error)) return undefined;
    throw error;
  }
}

function missing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
