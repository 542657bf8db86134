/**
 * `GET /metrics`: Prometheus text exposition, built on prom-client. Every value is read at scrape
 * time from the services' `health()`; the prom-client metrics hold nothing between scrapes.
 */
import type { WatcherHealth, WatcherState } from "@specter/watcher";
import type { Hono } from "hono";
import {
  Counter,
  type CounterConfiguration,
  Gauge,
  type GaugeConfiguration,
  type Metric,
  Registry as PromRegistry,
} from "prom-client";
import { z } from "zod";
import type { ServiceHealth } from "../health.ts";
import { registry as defaultRegistry, type Registry } from "../registry.ts";

/** `true`: serve Specter's metrics from a registry of our own; a prom-client `Registry`: add ours to it and serve it all; `false`/absent: no `/metrics`. */
export type MetricsOption = boolean | PromRegistry;

export const metricsOptionSchema = z.union(
  [z.boolean(), z.instanceof(PromRegistry) as z.ZodType<PromRegistry>],
  {
    error: "true, false, or a prom-client Registry",
  },
);

/**
 * States in which a watcher counts as up: running, or in backoff between retries (it is still
 * trying; its failures show in `specter_watcher_errors_total`). Not started, stopping, stopped,
 * failed (gave up) and ended (its stream closed) are down.
 */
const WATCHER_UP: ReadonlySet<WatcherState> = new Set(["running", "backoff"]);

/** The `service` label: a top-level service's name, a child's as "parent/child". */
interface ServiceSample {
  path: string;
  health: ServiceHealth;
}

/** The Specter registries whose services each prom-client registry reports. */
const sourcesOf = new WeakMap<PromRegistry, Set<Registry>>();

/**
 * Adds Specter's metrics to `promRegistry` (a new one when omitted) and returns it: for programs
 * that serve `/metrics` themselves. Each scrape reads `health()` of every service of `registry`
 * (default: the shared one) and of their child services. Calling it again with the same
 * prom-client registry adds nothing twice; with another Specter registry, that one's services are
 * reported too.
 *
 * @throws {Error} when `promRegistry` already has a metric of one of Specter's names that Specter
 * did not register.
 */
export function collectMetrics(
  registry: Registry = defaultRegistry,
  promRegistry: PromRegistry = new PromRegistry(),
): PromRegistry {
  let sources = sourcesOf.get(promRegistry);
  if (!sources) {
    sources = new Set();
    registerCollectors(promRegistry, sources);
    sourcesOf.set(promRegistry, sources);
  }
  sources.add(registry);
  return promRegistry;
}

/** Serves `GET /metrics` when `metrics` is `true` or a prom-client registry. */
export function mountMetrics(app: Hono, registry: Registry, metrics: MetricsOption): void {
  if (metrics === false) return;
  const promRegistry = collectMetrics(registry, metrics === true ? undefined : metrics);
  app.get("/metrics", async (c) =>
    c.body(await promRegistry.metrics(), 200, { "Content-Type": promRegistry.contentType }),
  );
}

function registerCollectors(promRegistry: PromRegistry, sources: Set<Registry>): void {
  // prom-client asks every metric's collect() in one synchronous pass per scrape: the first one
  // reads the services' health and the others reuse it, so /proc is scanned once per scrape.
  let sample: ServiceSample[] | undefined;
  const read = (): ServiceSample[] => {
    if (!sample) {
      const fresh: ServiceSample[] = [];
      // Kept only once complete: when a health() throws, this scrape fails (a 500 that says why)
      // and the next one reads again, rather than every later scrape serving a partial sample.
      for (const source of sources) {
        for (const service of source.services()) flatten(service.health(), service.name, fresh);
      }
      sample = fresh;
      queueMicrotask(() => {
        sample = undefined;
      });
    }
    return sample;
  };
  const watchers = function* () {
    for (const { path, health } of read())
      for (const w of health.watchers) yield { labels: { service: path, watcher: w.name }, w };
  };
  const processes = function* () {
    for (const { path, health } of read())
      for (const p of health.processes) yield { labels: { service: path, process: p.name }, p };
  };

  // Same-named watchers or processes of one service share a series: counts and "up" are summed,
  // the age is the freshest. reset() first, so what is gone since the last scrape is dropped.
  const metrics: { name: string; metric: Metric }[] = [];
  const gauge = <L extends string>(config: GaugeConfiguration<L>) =>
    metrics.push({ name: config.name, metric: new Gauge({ ...config, registers: [] }) });
  const counter = <L extends string>(config: CounterConfiguration<L>) =>
    metrics.push({ name: config.name, metric: new Counter({ ...config, registers: [] }) });

  gauge({
    name: "specter_service_up",
    help: "1 when the service is running, else 0.",
    labelNames: ["service"],
    collect() {
      this.reset();
      for (const { path, health } of read())
        this.set({ service: path }, health.state === "running" ? 1 : 0);
    },
  });
  counter({
    name: "specter_watcher_values_total",
    help: "Values the watcher delivered to its subscribers.",
    labelNames: ["service", "watcher"],
    collect() {
      this.reset();
      for (const { labels, w } of watchers()) this.inc(labels, w.delivered);
    },
  });
  counter({
    name: "specter_watcher_errors_total",
    help: "Failures of the watcher's source (poll or stream errors, timeouts, worker deaths).",
    labelNames: ["service", "watcher"],
    collect() {
      this.reset();
      for (const { labels, w } of watchers()) this.inc(labels, w.errorCount);
    },
  });
  gauge({
    name: "specter_watcher_up",
    help: "1 while the watcher runs or retries after a failure; 0 when idle, stopped, failed or ended.",
    labelNames: ["service", "watcher"],
    collect() {
      this.reset();
      for (const { labels, w } of watchers()) this.inc(labels, WATCHER_UP.has(w.state) ? 1 : 0);
    },
  });
  gauge({
    name: "specter_watcher_last_value_age_seconds",
    help: "Seconds since the watcher delivered its last value; absent before the first.",
    labelNames: ["service", "watcher"],
    collect() {
      this.reset();
      const now = Date.now();
      const newest = new Map<string, { labels: Labels; at: number }>();
      for (const { labels, w } of watchers()) keepNewest(newest, labels, w);
      for (const { labels, at } of newest.values()) this.set(labels, (now - at) / 1000);
    },
  });
  gauge({
    name: "specter_process_up",
    help: "1 while the process is running (ready, with a ready option), else 0 (starting, restarting, stopped, exited, failed).",
    labelNames: ["service", "process"],
    collect() {
      this.reset();
      for (const { labels, p } of processes()) this.inc(labels, p.state === "running" ? 1 : 0);
    },
  });
  counter({
    name: "specter_process_restarts_total",
    help: "Restarts of the process since it was last started.",
    labelNames: ["service", "process"],
    collect() {
      this.reset();
      for (const { labels, p } of processes()) this.inc(labels, p.restarts);
    },
  });
  counter({
    name: "specter_process_lines_total",
    help: "Lines the process wrote on stdout or stderr, as its line watchers received them.",
    labelNames: ["service", "process", "stream"],
    collect() {
      this.reset();
      for (const { labels, p } of processes()) {
        this.inc({ ...labels, stream: "stdout" }, p.streams.stdout.lines);
        this.inc({ ...labels, stream: "stderr" }, p.streams.stderr.lines);
      }
    },
  });
  counter({
    name: "specter_process_cpu_seconds_total",
    help: "CPU seconds (user and kernel) of the current run's whole process group, reaped children included; absent between runs.",
    labelNames: ["service", "process"],
    collect() {
      this.reset();
      for (const { labels, p } of processes()) if (p.usage) this.inc(labels, p.usage.cpuSeconds);
    },
  });
  gauge({
    name: "specter_process_resident_memory_bytes",
    help: "Resident memory of the current run's process group, summed over its processes; absent between runs.",
    labelNames: ["service", "process"],
    collect() {
      this.reset();
      for (const { labels, p } of processes())
        if (p.usage) this.inc(labels, p.usage.residentMemoryBytes);
    },
  });

  // All or nothing: check every name before registering any.
  const taken = metrics.filter((m) => promRegistry.getSingleMetric(m.name) !== undefined);
  if (taken.length > 0) {
    const names = taken.map((m) => m.name).join(", ");
    throw new Error(
      `collectMetrics: the prom-client registry already has ${names}, not registered by collectMetrics; remove them, or pass another registry`,
    );
  }
  for (const { metric } of metrics) promRegistry.registerMetric(metric);
}

type Labels = Record<string, string>;

function flatten(health: ServiceHealth, path: string, into: ServiceSample[]): void {
  into.push({ path, health });
  for (const child of health.children) flatten(child, `${path}/${child.name}`, into);
}

function keepNewest(
  newest: Map<string, { labels: Labels; at: number }>,
  labels: Labels,
  w: WatcherHealth,
): void {
  if (w.lastValueAt === null) return;
  const key = `${labels.service}\0${labels.watcher}`;
  const seen = newest.get(key);
  if (!seen || w.lastValueAt > seen.at) newest.set(key, { labels, at: w.lastValueAt });
}
