/**
 * One Bun subprocess hosting one module source (`isolation: "process"`), and the kill switch for
 * its process group. Internal; see `ProcessSession`.
 */
import { fileURLToPath } from "node:url";
import type { Subprocess } from "bun";
import { type FromWorker, Outbox, type ToWorker } from "./protocol.ts";

const ENTRY = fileURLToPath(new URL("./process-entry.ts", import.meta.url));

export class SourceProcess {
  readonly exited: Promise<void>;
  readonly pid: number;
  #child: Subprocess<"pipe", "inherit", "inherit">;
  #gone = false;
  #outbox: Outbox<ToWorker>;

  /**
   * `onExit` is called when the process ends without `kill()`. Values cross Bun's IPC channel with
   * "advanced" serialization: the structured clone a Worker's postMessage uses, so a source's
   * values arrive alike in both.
   */
  constructor(onMessage: (message: FromWorker) => void, onExit: (reason: string) => void) {
    const receive = (message: FromWorker) => {
      if (message.t !== "batch") onMessage(message);
      else for (const m of message.messages) onMessage(m);
    };
    // stdin is a pipe the host never writes: its end tells the child's guard that the host died.
    this.#child = Bun.spawn([process.execPath, ENTRY], {
      ipc: receive,
      serialization: "advanced",
      detached: true,
      stdin: "pipe",
      stdout: "inherit",
      stderr: "inherit",
    });
    this.pid = this.#child.pid;
    this.#outbox = new Outbox((message) => this.#child.send(message));
    this.exited = this.#child.exited.then((code) => {
      this.#child.stdin.end();
      if (this.#gone) return;
      this.#gone = true;
      const signal = this.#child.signalCode;
      onExit(
        `source process exited unexpectedly ${signal ? `(killed by ${signal})` : `with code ${code}`}`,
      );
    });
  }

  get alive(): boolean {
    return !this.#gone;
  }

  post(message: ToWorker): void {
    if (!this.#gone) this.#outbox.push(message);
  }

  /** SIGKILL to the whole group: the source and everything it started. Resolves once it exited. */
  kill(): Promise<void> {
    if (!this.#gone) {
      this.#gone = true;
      this.#outbox.clear();
      try {
        process.kill(-this.pid, "SIGKILL");
      } catch {
        // The group is already empty.
      }
    }
    return this.exited;
  }
}
