/**
 * The last line of defence against orphans: next to each child group runs a tiny `sh` that blocks
 * reading a pipe from the host and, when the pipe reaches end-of-file, stops the group the way
 * `stop()` would: SIGTERM, up to `terminateTimeout` for the group to go, then SIGKILL. The host
 * never writes to that pipe; the kernel closes it when the host dies, however it dies — SIGKILL,
 * a crash, or `bun test` ending without running "exit" listeners. After a normal stop the guard is
 * killed first (so it can never signal a reused group id) and its pipe closed.
 */
import { settlesWithin } from "@specter/core";
import type { FileSink, Subprocess } from "bun";

// $1 = process group, $2 = terminateTimeout in tenths of a second. dash's kill takes "-PGID"
// but not "--".
const SCRIPT = `read _
kill -TERM "-$1" 2>/dev/null || exit 0
i=0
while [ "$i" -lt "$2" ] && kill -0 "-$1" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
kill -KILL "-$1" 2>/dev/null`;

export class OrphanGuard {
  readonly #guard: Subprocess<"pipe", "ignore", "ignore"> | undefined;
  /** Held so the pipe stays open (and is not collected) for as long as the child lives. */
  readonly #pipe: FileSink | undefined;

  constructor(pgid: number, terminateTimeout: number) {
    const tenths = String(Math.ceil(terminateTimeout / 100));
    try {
      this.#guard = Bun.spawn(["sh", "-c", SCRIPT, "specter-orphan-guard", String(pgid), tenths], {
        stdin: "pipe",
        stdout: "ignore",
        stderr: "ignore",
        detached: true, // not in the host's group: a Ctrl-C to the host must not kill the guard
      });
      this.#guard.unref();
      this.#pipe = this.#guard.stdin;
    } catch {
      // No sh: the SIGINT/SIGTERM/exit hooks still apply.
    }
  }

  get pid(): number | undefined {
    return this.#guard?.pid;
  }

  /** The host is exiting and has SIGKILLed the group itself: the guard has nothing left to do. */
  killNow(): void {
    const guard = this.#guard;
    if (guard && guard.exitCode === null && guard.signalCode === null) guard.kill("SIGKILL");
  }

  /**
   * The group is gone: kills the guard, closes its pipe and resolves once the guard has been
   * reaped (at most 1 s), so that a stopped process leaves no process of ours behind.
   */
  async dispose(): Promise<void> {
    const guard = this.#guard;
    if (!guard) return;
    if (guard.exitCode === null && guard.signalCode === null) {
      guard.ref(); // keep the host alive until it is reaped, or `await stop()` could be its end
      guard.kill("SIGKILL");
    }
    try {
      this.#pipe?.end();
    } catch {
      // Already closed.
    }
    await settlesWithin(guard.exited, 1_000);
  }
}
