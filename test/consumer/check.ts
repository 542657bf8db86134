/**
 * A user's program on every entry point of the published packages, as the package test builds it:
 * copied with tsconfig.bundler.json and tsconfig.nodenext.json into a fresh project that installed
 * the tarballs, where `tsc --noEmit -p` must pass under both. It also runs (`bun check.ts`, about
 * half a second), ends by itself and leaves no process, worker or timer behind.
 */
import { Backoff, formatDuration, parseDuration, Scope } from "@specter/core";
import { collectLines, waitFor } from "@specter/core/testing";
import { ManagedProcess, type ProcessExit, type ProcessHealth } from "@specter/process";
import { fakeChild, leftovers } from "@specter/process/testing";
import {
  HealthzResponse,
  Registry,
  Service,
  type ServiceStatus,
  StatusResponse,
  serveStatus,
  statusOf,
} from "@specter/service";
import { Watcher, type WatcherHealth } from "@specter/watcher";

// @specter/core: durations, backoff, a scope that releases what it owns when the block ends.
const interval: number = parseDuration("20ms");
const backoff = new Backoff({ initial: 10, max: 100 });
const delays: string[] = [backoff.next(), backoff.next()].map((ms) => formatDuration(ms));
const released: string[] = [];
{
  await using scope = new Scope("check");
  scope.addCleanup(() => released.push("scope"), "a cleanup");
}

// @specter/core/testing: collect a child's lines.
const echo = Bun.spawn(["sh", "-c", "printf 'a\\nb\\n'"], { stdout: "pipe" });
const collected = collectLines(echo.stdout);
await collected.done;
await echo.exited;

// @specter/watcher: a poll watcher with a typed value.
const ticks = new Watcher("ticks", { poll: () => Date.now(), interval, dedupe: true });
const seen: number[] = [];
ticks.subscribe((value) => {
  seen.push(value);
});
ticks.start();
await waitFor(() => seen.length >= 2, { timeout: 2_000 });
await ticks.stop();
const watcherHealth: WatcherHealth = ticks.health();

// @specter/process and @specter/process/testing: a fake child's output line by line, its exit.
const argv: string[] = await fakeChild({ stdout: ["one", "two"], exitAfter: "10ms" });
const proc = new ManagedProcess("lines", { terminateTimeout: "1s" });
const lines: string[] = [];
proc.watchStream("stdout", (line) => {
  lines.push(line);
});
proc.start(argv, { stdout: "pipe" });
const exit: ProcessExit | null = await proc.wait("2s");
const processHealth: ProcessHealth = proc.health();

// @specter/service: a service with typed data and events, registered, adopted, owned, served.
type MonitorTypes = { data: { load: string }; events: { alert: { level: number } } };

class MonitorService extends Service<MonitorTypes> {
  override onStart(): void {
    const load = this.own(
      new Watcher("load", { poll: () => "0.42 0.40 0.38", interval, dedupe: true }),
    );
    load.subscribe((text) => this.setData({ load: text.split(" ")[0] ?? "" }));
    load.start();
    this.startProcess(["sh", "-c", "echo ready; sleep 30"], {
      stdout: "pipe",
      terminateTimeout: "2s",
    });
  }
}

class ParentService extends Service<{ data: { children: number } }> {}

const registry = new Registry();
const monitor: MonitorService = registry.register(new MonitorService("monitor"));
const parent = registry.register(new ParentService("parent", { initialData: { children: 0 } }));
await monitor.start();
await parent.start();
const child: MonitorService = await parent.adopt(new MonitorService("child"));
const plain: Service = parent.own(new Service("plain"));
await plain.start();
parent.setData({ children: 1 });
const levels: number[] = [];
parent.listen(child, "alert", (alert) => {
  levels.push(alert.level);
});
child.emit("alert", { level: 2 });
await waitFor(() => monitor.data.load !== undefined, { timeout: 2_000 });
const asPlain: Service = monitor;
const status: ServiceStatus = statusOf(asPlain);

const server = serveStatus({ registry });
const body = StatusResponse.parse(await (await fetch(new URL("/status", server.url))).json());
const health = HealthzResponse.parse(await (await fetch(new URL("/healthz", server.url))).json());
await server.stop();
await registry.stop();

const summary = {
  delays,
  released,
  collected: collected.lines,
  watcher: [watcherHealth.state, seen.length >= 2],
  process: [lines, exit?.exitCode, processHealth.state],
  service: [status.name, status.data, levels],
  status: body.services.map((s) => `${s.name}:${s.state}:${s.children.length}`),
  healthz: health.ok,
  stopped: [monitor.state, parent.state, child.state],
  leftovers: await leftovers(),
};
console.log(JSON.stringify(summary));
