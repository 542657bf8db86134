/**
 * Helpers for tests of Specter and of programs built on it: wait for a condition with a deadline
 * (never sleep blindly), and read what the process holds from /proc (children, fds, threads).
 */
import { readdirSync, readFileSync } from "node:fs";

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

/** Open file descriptors of this process. */
export function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

/** OS threads of this process. */
export function threadCount(): number {
  const status = readFileSync("/proc/self/status", "utf8");
  return Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN);
}

/** Parent pid of every live process, read from /proc. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name may contain spaces and parentheses: fields start after the last ")".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] !== "Z") map.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  return map;
}

/** Live (non-zombie) descendants of `pid` (default: this process), children first. */
export function descendants(pid = process.pid): number[] {
  const parentOf = parents();
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift() as number;
    for (const [child, parent] of parentOf) {
      if (parent === current) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/** Whether a process with this pid is alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Collects a byte stream's lines as they arrive (`lines` grows); `done` settles at its end. */
export function collectLines(stream: ReadableStream<Uint8Array>): {
  lines: string[];
  done: Promise<void>;
} {
  const lines: string[] = [];
  const done = (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of stream) {
      buffer += decoder.decode(chunk, { stream: true });
      const parts = buffer.split("\n");
      buffer = parts.pop() ?? "";
      lines.push(...parts);
    }
    if (buffer) lines.push(buffer);
  })();
  return { lines, done };
}
