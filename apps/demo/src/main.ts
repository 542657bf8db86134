/**
 * Specter demo: a live monitor that shows every primitive working. Watchers poll the machine in a
 * Worker, a stream watcher follows the log of the requests the status server answers, a supervised
 * child crashes and is restarted, and the status endpoint serves it all on 127.0.0.1. On a terminal
 * it shows a screen updated in place; piped or with --json, a log of events. Ctrl-C stops
 * everything in order.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { descendants, formatDuration } from "@specter/core";
import { Registry, type Service, type StatusServer } from "@specter/service";
import { WorkerPool } from "@specter/watcher";
import { type DemoArgs, parseDemoArgs, USAGE } from "./args.ts";
import { renderFrame } from "./frame.ts";
import { openScreen, type Screen } from "./screen.ts";
import { serveDemo } from "./server.ts";
import { LogService, MonitorService, SupervisorService } from "./services.ts";
import { createView } from "./view.ts";

let args: DemoArgs | "help";
try {
  args = parseDemoArgs(Bun.argv.slice(2));
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
if (args === "help") {
  console.log(USAGE);
  process.exit(0);
}
const { json, duration } = args;
const print = (line: string) => console.log(line);
/** The live screen, on a terminal unless --json; set while it shows. */
let screen: Screen | undefined;

const registry = new Registry();
// Host signals go through the registry (and so through @specter/core's one set of hooks): the
// first Ctrl-C or SIGTERM stops every service newest first, then the demo prints what is left.
// Installed first, before anything is made or printed: a signal that comes before any handler
// ends the host at once (Bun's default), with no summary and the temporary folder left behind.
// One that comes during start-up is handled at its first await, and start-up stops there.
let why: string | undefined;
let t0 = 0;
/** Marks the start of stopping; false when it had already begun. */
const beginStop = (reason: string): boolean => {
  if (why !== undefined) return false;
  why = reason;
  t0 = performance.now();
  // The screen goes first: what follows (this line, errors, the summary) are normal lines below it.
  screen?.close();
  screen = undefined;
  if (!json) print(`${reason}: stopping services in reverse order...`);
  return true;
};
const removeSignalHandlers = registry.handleSignals({
  onSignal: (signal) => {
    beginStop(signal);
  },
  onStopped: () => finish(),
  onRepeat: (signal) => {
    console.error(`${signal} again: exiting without waiting`);
    process.exit(130);
  },
});

const dir = mkdtempSync(join(tmpdir(), "specter-demo-"));
const tty = !json && process.stdout.isTTY === true;
const view = createView(json ? "json" : tty ? "screen" : "lines", print);
registry.onActivity(view.show);
const logs = new LogService("logs", join(dir, "app.log"), () => `${server.url}healthz`);
const services: Service[] = [
  registry.register(new MonitorService("monitor")),
  registry.register(logs),
  registry.register(new SupervisorService("supervisor")),
];
for (const service of services) service.onError(() => {}); // shown by the view as "error" activity

// The server writes each request it answers to the log that the "logs" service follows.
const serve = (port: number) =>
  serveDemo({ registry, port, onRequest: (line) => logs.record(line) });
let server: StatusServer;
let portNote: string | undefined;
try {
  server = serve(args.port);
} catch (error) {
  if (args.portGiven) {
    console.error((error as Error).message);
    rmSync(dir, { recursive: true, force: true }); // process.exit() skips the tidy stop
    process.exit(2);
  }
  server = serve(0);
  portNote = `port ${args.port} is taken; using a free port instead`;
}

const started = Date.now();
if (tty) {
  if (portNote) view.note("demo", portNote);
  screen = openScreen(process.stdout, (columns, rows) =>
    renderFrame(
      {
        url: server.url,
        now: Date.now(),
        startedAt: started,
        durationMs: duration,
        services: registry.services().map((s) => s.health()),
        view,
      },
      columns,
      rows,
    ),
  );
  view.onChange(() => screen?.update());
} else if (json)
  print(
    JSON.stringify({
      type: "ready",
      status: `${server.url}status`,
      events: `${server.url}events`,
      at: started,
    }),
  );
else {
  if (portNote) print(portNote);
  print(
    `Specter demo: status ${server.url}status · live events ${server.url}events · health ${server.url}healthz`,
  );
  print(
    duration ? `running for ${formatDuration(duration)}; Ctrl-C stops early` : "Ctrl-C to stop",
  );
}

let finishing: Promise<void> | undefined;
const finish = (failed = false): Promise<void> => {
  finishing ??= (async () => {
    await registry.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    const processes = descendants(process.pid).length;
    const workers = WorkerPool.default.stats().workers;
    const timers = services.reduce((n, s) => {
      const t = s.health().tasks;
      return n + t.intervals + t.timeouts + t.spawned;
    }, 0);
    const clean = processes === 0 && workers === 0 && timers === 0;
    const ms = Math.round(performance.now() - t0);
    const summary = {
      type: "summary",
      clean,
      stoppedInMs: ms,
      ranForMs: Date.now() - started,
      restarts: view.counters.restarts,
      errors: view.counters.errors,
      left: { processes, workers, timers },
    };
    if (json) print(JSON.stringify(summary));
    else {
      print(
        `stopped in ${ms}ms after ${formatDuration(summary.ranForMs)} (${summary.restarts} child restarts, ${view.counters.logLines} log lines followed) — left behind: ${processes} processes, ${workers} workers, ${timers} timers${clean ? "" : " (NOT CLEAN)"}`,
      );
    }
    // Stopped by a timer or a failed start, the handlers are still installed: nothing may stay.
    removeSignalHandlers();
    process.exitCode = clean && !failed ? 0 : 1;
    // No process.exit(): with everything stopped the event loop is empty and the demo ends by
    // itself. If something were still pending, this (unref'd) watchdog would say so.
    setTimeout(() => {
      console.error(
        "demo: something is still pending 3s after stopping (a timer, socket or worker); exiting",
      );
      process.exit(1);
    }, 3000).unref();
  })();
  return finishing;
};

try {
  for (const service of services) {
    if (why !== undefined) break; // Ctrl-C during start-up: start nothing more
    await service.start();
  }
} catch (error) {
  // A start abandoned by Ctrl-C is part of stopping, not a failure.
  if (beginStop("start failed")) {
    console.error(`demo: could not start: ${(error as Error).message}`);
    await finish(true);
  }
}
if (duration !== undefined && why === undefined) {
  setTimeout(() => {
    if (beginStop(`ran for ${formatDuration(duration)}`)) void finish();
  }, duration);
}
