/**
 * What tells one open file from another behind the same fd number: its device and inode, and the
 * open flags the kernel shows in /proc/self/fdinfo. Read in a Worker when a source registers an fd
 * with `onClose`, and again on the main thread before it closes that number for a killed Worker:
 * a different value means the number now names something else. Node's fs only (a Worker loads
 * this at start-up). Internal.
 */
import { fstatSync, readFileSync, readlinkSync } from "node:fs";

/**
 * `dev:ino:flags` of `fd`, or `undefined` when it is not open, cannot be read (no /proc), or is a
 * socket: Bun closes a Worker's sockets itself when the Worker ends (measured for `Bun.connect`
 * and `Bun.listen` on Bun 1.4.5), so they are never closed from outside.
 */
export function fdIdentity(fd: number): string | undefined {
  try {
    const stat = fstatSync(fd);
    if (stat.isSocket()) return undefined;
    const flags = /^flags:\s*(\S+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "latin1"))?.[1];
    return flags === undefined ? undefined : `${stat.dev}:${stat.ino}:${flags}`;
  } catch {
    return undefined;
  }
}

/** The OS id of the calling thread (`/proc/thread-self`), or `undefined` without /proc. */
export function threadId(): number | undefined {
  try {
    const link = readlinkSync("/proc/thread-self");
    const tid = Number(link.slice(link.lastIndexOf("/") + 1));
    return Number.isInteger(tid) ? tid : undefined;
  } catch {
    return undefined;
  }
}
