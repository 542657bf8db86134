/**
 * Helpers for tests of Specter and of programs built on it: wait for a condition with a deadline
 * (never sleep blindly), collect a child's output, and read what processes hold from `/proc`.
 */
import { LineSplitter } from "../lines.ts";

export {
  commandLine,
  descendants,
  isAlive,
  openFds,
  readStat,
  threadCount,
} from "../proc.ts";

export interface WaitForOptions {
  /** Give up after this many milliseconds (default 2000). */
  timeout?: number;
  /** Check this often, in milliseconds (default 5). */
  every?: number;
  /** Said in the error when the deadline passes. */
  message?: string;
}

/** Resolves with the first truthy result of `check()`; rejects when `timeout` passes first. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const { timeout = 2_000, every = 5, message = check.toString() } = options;
  const deadline = performance.now() + timeout;
  for (;;) {
    const result = await check();
    if (result) return result as NonNullable<T>;
    if (performance.now() > deadline)
      throw new Error(`waitFor: not true within ${timeout}ms: ${message}`);
    await Bun.sleep(every);
  }
}

/** Collects a byte stream's lines as they arrive (`lines` grows); `done` settles at its end. */
export function collectLines(stream: ReadableStream<Uint8Array>): {
  lines: string[];
  done: Promise<void>;
} {
  const lines: string[] = [];
  const splitter = new LineSplitter(Number.POSITIVE_INFINITY, "split", (line) => {
    lines.push(line);
  });
  const done = (async () => {
    for await (const chunk of stream) splitter.push(chunk);
    splitter.end();
  })();
  return { lines, done };
}
