/**
 * One run of a managed process: one spawned child (marked with its run token, see run-tree.ts),
 * its readers, its registration with the host's orphan guard, and how it ends. `finish()` is the
 * whole end of a run: wait for the child, take down what is left of its tree (group, session,
 * marked processes), read its output to the end (bounded), release the pipes, unregister from
 * the orphan guard, and say how it ended as a `ProcessExit`. Whether it starts again is the
 * supervisor's business.
 */
import { constants } from "node:os";
import { messageOf, settlesWithin } from "@specter/core";
import type { FileSink } from "bun";
import type { ProcessContext } from "./context.ts";
import { ProcessError, StopTimeoutError } from "./errors.ts";
import type { StartConfig } from "./options.ts";
import { hostGuard } from "./orphan-guard.ts";
import { StreamReader } from "./reader.ts";
import {
  markerValue,
  members,
  newRunToken,
  RUN_MARKER,
  type RunTree,
  snapshot,
} from "./run-tree.ts";
import { type Child, spawnChild } from "./spawn.ts";
import {
  killTreeNow,
  signalGroup,
  type TerminateResult,
  type Termination,
  terminateTree,
} from "./terminate.ts";
import type { ProcessExit, StreamName } from "./types.ts";

export const STREAMS: readonly StreamName[] = ["stdout", "stderr"];
export const SIGNAL_NUMBERS = constants.signals as Record<string, number>;

/** How the child itself ended, recorded when it is reaped (its group may live on). */
interface Reaped {
  exitCode: number | null;
  signalCode: NodeJS.Signals | null;
  at: number;
  ranFor: number;
}

export class Run {
  readonly child: Child;
  readonly pid: number;
  /** `performance.now()` when the child was spawned. */
  readonly startedAt: number;
  /** Set once the child has been reaped (its group may live on). */
  exit: Reaped | undefined;
  /** Settles once the child has been reaped. */
  readonly leaderExited: Promise<void>;
  /** `stop()` (or host shutdown) asked this run to end. */
  stopRequested = false;
  /** `timeout` or `readyTimeout` ran out and the supervisor is ending this run for it. */
  timedOut = false;
  readonly #ctx: ProcessContext;
  /** The SIGTERM/SIGKILL sequence, once started (shared by `stop()` and the exit path). */
  #termination: Promise<Termination> | undefined;
  /** Its group (= session) and marker token: what `stop()` ends. */
  readonly #tree: RunTree;
  readonly #readers = new Map<StreamName, StreamReader>();

  /**
   * Spawns `config.argv` and reads its piped streams.
   * @throws {SpawnError} the program cannot be started; nothing is left behind.
   */
  constructor(config: StartConfig, ctx: ProcessContext) {
    const token = newRunToken();
    const marked = { ...config, env: { ...config.env, [RUN_MARKER]: markerValue(token) } };
    const child = spawnChild(marked, ctx.name);
    this.#tree = { pgid: child.pid, token };
    this.child = child;
    this.pid = child.pid;
    this.startedAt = performance.now();
    this.#ctx = ctx;
    // The host's guard ends the tree if the host dies without running its hooks.
    if (ctx.config.hostShutdown) {
      hostGuard.register(child.pid, token, ctx.config.terminateTimeout, ctx.config.killSignal);
    }
    const reaped = () => {
      this.exit = {
        exitCode: child.exitCode,
        signalCode: signalName(child.signalCode),
        at: Date.now(),
        ranFor: Math.round(performance.now() - this.startedAt),
      };
    };
    this.leaderExited = child.exited.then(reaped, reaped);
    // Every pipe is read, watched or not: an unread pipe is buffered by Bun without limit.
    for (const stream of STREAMS) if (config[stream] === "pipe") this.read(stream);
  }

  /** The child's stdin while it runs, when started with `stdin: "pipe"`, else `null`. */
  get stdin(): FileSink | null {
    const stdin = this.exit === undefined ? this.child.stdin : undefined;
    return typeof stdin === "object" && stdin !== null ? stdin : null;
  }

  /** Reads `stream` into its tap, unless it is read already or not a pipe. */
  read(stream: StreamName): void {
    if (this.#readers.has(stream)) return;
    const readable = this.child[stream];
    if (!(readable instanceof ReadableStream)) return;
    const ctx = this.#ctx;
    const reader = new StreamReader(readable, ctx.taps[stream], (error) => {
      ctx.report(
        new ProcessError(ctx.name, "stream", `reading ${stream} failed: ${messageOf(error)}`, {
          cause: error,
        }),
      );
    });
    this.#readers.set(stream, reader);
  }

  /**
   * SIGTERM, wait, SIGKILL to the whole tree (group, session, marked processes); started once,
   * shared by `stop()` and `finish()`.
   */
  terminate(): Promise<TerminateResult> {
    return this.#terminate().then((t) => t.result);
  }

  #terminate(): Promise<Termination> {
    this.#termination ??= terminateTree(
      this.#tree,
      { exited: this.leaderExited, gone: () => this.exit !== undefined },
      this.#ctx.config,
    );
    return this.#termination;
  }

  /** `stop()` or host shutdown ends this run. */
  requestStop(): void {
    // A child that already exited by itself was not ended by stop(): its exit says so.
    if (this.exit === undefined) this.stopRequested = true;
  }

  /**
   * SIGKILL to the whole tree, synchronously (the host is exiting; its orphan guard, seeing the
   * host gone, sweeps once more).
   */
  killNow(): void {
    this.requestStop();
    killTreeNow(this.#tree);
  }

  /**
   * Waits for the child to exit, takes down what is left of its tree, reads its streams to the
   * end (at most `killTimeout` more), and says how the run ended.
   */
  async finish(): Promise<ProcessExit> {
    const ctx = this.#ctx;
    const { name, config } = ctx;
    await this.leaderExited;
    // Also for a child that exited by itself: what it left behind (a group member, a daemon) goes.
    const { result, escaped } = await this.#terminate();
    if (result === "stuck") {
      ctx.report(
        new StopTimeoutError(
          name,
          `processes of group ${this.pid} survived SIGKILL for ${config.killTimeout}ms (stuck in the kernel?)`,
        ),
      );
    }
    const readers = [...this.#readers.values()];
    const drained =
      readers.length === 0 ||
      (await settlesWithin(Promise.all(readers.map((r) => r.done)), config.killTimeout));
    if (!drained) {
      ctx.report(
        new ProcessError(
          name,
          "stream",
          `output was still open ${config.killTimeout}ms after the process tree ended: ` +
            "a process out of reach (it left the session and dropped the run's environment) " +
            "holds it; reading stopped (start such a process with its output redirected)",
        ),
      );
    }
    for (const reader of readers) reader.cancel();
    // Flush partial lines now, not when the cancelled reads come back (a restart may be reading).
    if (!drained) for (const stream of this.#readers.keys()) ctx.taps[stream].end();
    for (const stream of STREAMS) {
      const readable = this.child[stream];
      if (readable instanceof ReadableStream && !this.#readers.has(stream)) {
        readable.cancel().catch(() => {});
      }
    }
    const stdin = this.child.stdin;
    if (typeof stdin === "object" && stdin !== null) {
      try {
        stdin.end();
      } catch {
        // Already closed.
      }
    }
    if (config.hostShutdown) {
      if (result !== "stuck") await hostGuard.unregister(this.#tree.token);
      // Still registered while what survived SIGKILL lives (the guard ends it if the host dies),
      // but not for good: once it is gone its group id may name an unrelated group, which the
      // guard must never signal, and the guard itself must go with the last child.
      else unregisterWhenGone(this.#tree);
    }
    const status = this.exit as Reaped;
    return {
      pid: this.pid,
      exitCode: status.exitCode,
      signalCode: status.signalCode,
      stopped: this.stopRequested,
      killed: result === "killed",
      escaped,
      timedOut: this.timedOut,
      uptime: status.ranFor,
      at: status.at,
    };
  }
}

/** How often a tree that survived SIGKILL is looked at, until it is gone. */
const STUCK_POLL_MS = 1_000;

/** Unregisters `tree` from the orphan guard once nothing of it lives (looked at every second). */
function unregisterWhenGone(tree: RunTree): void {
  const timer = setInterval(() => {
    let alive = true;
    try {
      const snap = snapshot();
      alive = snap.readable ? members(snap, tree).length > 0 : signalGroup(tree.pgid, 0);
    } catch {
      // Not ours to signal (EPERM): it lives; look again.
    }
    if (alive) return;
    clearInterval(timer);
    hostGuard.unregister(tree.token).catch(() => {});
  }, STUCK_POLL_MS);
  timer.unref(); // a stuck process does not keep the host alive; the guard covers its exit
}

function signalName(signal: NodeJS.Signals | number | null): NodeJS.Signals | null {
  if (typeof signal !== "number") return signal;
  const found = Object.entries(SIGNAL_NUMBERS).find(([, n]) => n === signal)?.[0];
  return (found as NodeJS.Signals | undefined) ?? null;
}
