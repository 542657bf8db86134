/** The demo's three services: machine monitor, log follower and a supervised child. */
import { appendFile, rename, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { Service } from "@specter/service";
import { tail, Watcher } from "@specter/watcher";
import { PROBE_AGENT } from "./server.ts";

/** Polls the machine in a Worker; `dedupe` lets only changes through. */
export class MonitorService extends Service {
  protected override onStart(): void {
    const machine = new URL("./machine.ts", import.meta.url);
    const poll = (name: string, exported: string, interval: string, args: unknown[] = []) =>
      this.own(
        new Watcher(name, {
          poll: { module: machine, export: exported, args },
          interval,
          timeout: "2s",
          dedupe: true,
        }),
      ).start();
    poll("load", "loadavg", "1s");
    poll("memory", "memory", "2s");
    poll("disk", "disk", "5s", [process.cwd()]);
  }
}

/** After this many lines the log is rotated, and the tail moves on to the new file. */
const ROTATE_AFTER = 12;

/** What the "rotated" event says: the log was renamed `to`, and a new one started at `from`. */
export interface LogRotation {
  from: string;
  to: string;
}

/**
 * Keeps the demo's request log (the status server's answers, passed to `record`) in its temporary
 * folder, rotates it now and then as logrotate would, and follows it with `tail` through the
 * rotations. So that the log has something to follow before anyone opens the status page, it
 * probes its own `/healthz` now and then; those requests are marked as the demo's own.
 */
export class LogService extends Service<{ events: { rotated: LogRotation } }> {
  #lines = 0;
  /** The last write: each waits for the one before, so lines and rotations keep their order. */
  #writing: Promise<void> = Promise.resolve();

  constructor(
    name: string,
    readonly path: string,
    /** The URL the probe requests (known once the server listens). */
    readonly probeUrl: () => string,
  ) {
    super(name);
  }

  /**
   * Appends a line to the log, after the lines before it. Dropped unless the service runs: before
   * the start the file is not there yet, after the stop its folder may be gone.
   */
  record(line: string): void {
    if (!this.running) return;
    const previous = this.#writing;
    // A task of the service: a failed write is reported, and stopping waits for the last one.
    this.#writing = this.spawn(async () => {
      await previous;
      if (this.#lines > 0 && this.#lines % ROTATE_AFTER === 0) await this.#rotate();
      this.#lines++;
      await appendFile(this.path, `${line}\n`);
    }).done.then(() => {});
  }

  protected override async onStart(): Promise<void> {
    await writeFile(this.path, "");
    this.interval(async (signal) => {
      const response = await fetch(this.probeUrl(), {
        signal,
        headers: { "user-agent": PROBE_AGENT },
      });
      await response.arrayBuffer(); // read to the end, so the connection is free again
    }, "2s");
    // The tail yields lines only: a rotation shows on the screen through this service's event.
    this.own(new Watcher("log-tail", { stream: tail(this.path, { from: "start" }) })).start();
  }

  /** Renames the log (replacing the previous rotated one) and starts a new, empty one. */
  async #rotate(): Promise<void> {
    const to = `${this.path}.1`;
    await rename(this.path, to);
    await writeFile(this.path, "");
    this.emit("rotated", { from: basename(this.path), to: basename(to) });
  }
}

/** Runs the demo's child program, which crashes now and then; the restart policy brings it back. */
export class SupervisorService extends Service<{
  events: { line: { stream: "stdout" | "stderr"; text: string } };
}> {
  protected override onStart(): void {
    const child = this.startProcess(
      [process.execPath, new URL("./child.ts", import.meta.url).pathname],
      {
        name: "child",
        stdout: "pipe",
        stderr: "pipe",
        terminateTimeout: "2s",
        restart: {
          policy: "on-failure",
          maxRestarts: 30,
          window: "1m",
          initialBackoff: "500ms",
          maxBackoff: "4s",
        },
      },
    );
    child.watchStream("stdout", (text) => this.emit("line", { stream: "stdout", text }));
    child.watchStream("stderr", (text) => this.emit("line", { stream: "stderr", text }));
  }
}
