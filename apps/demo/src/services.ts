/** The demo's three services: machine monitor, log follower and a supervised child. */
import { appendFile, writeFile } from "node:fs/promises";
import { Service } from "@specter/service";
import { Watcher } from "@specter/watcher";

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

/** Writes an app log in the demo's temporary folder and follows it (in a Worker), across truncation. */
export class LogService extends Service {
  constructor(
    name: string,
    readonly path: string,
  ) {
    super(name);
  }

  protected override async onStart(): Promise<void> {
    await writeFile(this.path, "");
    let n = 0;
    const routes = ["/", "/status", "/api/items", "/login"];
    this.interval(async () => {
      n++;
      // Every 6th write starts the file over, as log rotation would.
      if (n % 6 === 0) await writeFile(this.path, "");
      const route = routes[n % routes.length];
      await appendFile(this.path, `GET ${route} 200 ${5 + ((n * 37) % 90)}ms\n`);
    }, "1500ms");
    const tail = new URL("./tail.ts", import.meta.url);
    this.own(
      new Watcher("log-tail", {
        stream: { module: tail, export: "tailFile", args: [this.path, 100] },
      }),
    ).start();
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
