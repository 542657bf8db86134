/**
 * `GET /metrics` over real HTTP, with a real watcher and real child processes: the series, their
 * labels and values as prom-client serves them, read at scrape time; a user's own prom-client
 * registry served together with Specter's; and `promtool check metrics` on the output.
 */
import { describe, expect, test } from "bun:test";
import { waitFor } from "@specter/core/testing";
import { Watcher } from "@specter/watcher";
import { Counter, Registry as PromRegistry } from "prom-client";
import {
  collectMetrics,
  createStatusApp,
  Registry,
  Service,
  type StatusServer,
  serveStatus,
} from "../src/index.ts";
import { cleanupAfterEach } from "./cleanups.ts";

const cleanups = cleanupAfterEach();

/**
 * A "monitor" service with a counting watcher, a watcher whose source always fails, a worker that
 * prints two lines and sleeps, a crasher that exits 1 and is restarted, and a child service.
 */
async function setup() {
  const registry = new Registry();
  let n = 0;
  const monitor = registry.register(
    new Service("monitor", {
      async onStart(s) {
        s.own(new Watcher("counter", { poll: () => ++n, interval: "10ms" })).start();
        const broken = new Watcher("broken", {
          poll: () => {
            throw new Error("source down");
          },
          interval: "10ms",
          initialBackoff: "10ms",
        });
        broken.on("error", () => {});
        s.own(broken).start();
        const worker = s.startProcess(["sh", "-c", "echo a; echo b; sleep 30"], {
          name: "worker",
          stdout: "pipe",
          restart: "on-failure",
        });
        worker.watchStream("stdout", () => {});
        const crasher = s.startProcess(["sh", "-c", "echo oops >&2; exit 1"], {
          name: "crasher",
          stderr: "pipe",
          restart: { policy: "on-failure", maxRestarts: 1000, initialBackoff: 20, maxBackoff: 20 },
        });
        crasher.watchStream("stderr", () => {});
        crasher.on("error", () => {});
        await s.adopt(
          new Service("child", {
            onStart(c) {
              c.own(new Watcher("tick", { poll: () => Date.now(), interval: "10ms" })).start();
            },
          }),
        );
      },
    }),
  );
  await monitor.start();
  cleanups.push(() => registry.stop());
  return { registry, monitor };
}

function serve(options: Parameters<typeof serveStatus>[0]): StatusServer {
  const server = serveStatus(options);
  cleanups.push(() => server.stop());
  return server;
}

async function scrape(server: StatusServer, init?: RequestInit): Promise<string> {
  const res = await fetch(new URL("/metrics", server.url), init);
  expect(res.status).toBe(200);
  return res.text();
}

/** The samples of an exposition as `name{label="v",...}` → value (labels as prom-client orders them). */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    found.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return found;
}

function value(text: string, series: string): number | undefined {
  return samples(text).get(series);
}

describe("GET /metrics", () => {
  test("serves every series with its labels, values read at scrape time", async () => {
    const { registry } = await setup();
    const server = serve({ registry, port: 0, metrics: true });
    const w = (svc: string, watcher: string) => `{service="${svc}",watcher="${watcher}"}`;
    const p = (proc: string) => `{service="monitor",process="${proc}"}`;

    // Wait until each part has something to show: values, errors, lines, a restart.
    const text = await waitFor(
      async () => {
        const t = await scrape(server);
        const ready =
          (value(t, `specter_watcher_values_total${w("monitor", "counter")}`) ?? 0) > 0 &&
          (value(t, `specter_watcher_values_total${w("monitor/child", "tick")}`) ?? 0) > 0 &&
          (value(t, `specter_watcher_errors_total${w("monitor", "broken")}`) ?? 0) > 0 &&
          value(
            t,
            `specter_process_lines_total{service="monitor",process="worker",stream="stdout"}`,
          ) === 2 &&
          (value(t, `specter_process_restarts_total${p("crasher")}`) ?? 0) > 0;
        return ready ? t : undefined;
      },
      { timeout: 10_000, message: "every part of the monitor to show in /metrics" },
    );
    console.log(`/metrics of the test's monitor:\n${text}`);

    const s = samples(text);
    expect(s.get('specter_service_up{service="monitor"}')).toBe(1);
    expect(s.get('specter_service_up{service="monitor/child"}')).toBe(1);

    expect(s.get(`specter_watcher_up${w("monitor", "counter")}`)).toBe(1);
    // Failing and retrying after a backoff: still up; the failures are in errors_total.
    expect(s.get(`specter_watcher_up${w("monitor", "broken")}`)).toBe(1);
    expect(s.get(`specter_watcher_values_total${w("monitor", "broken")}`)).toBe(0);
    expect(s.get(`specter_watcher_errors_total${w("monitor", "counter")}`)).toBe(0);
    const age = s.get(`specter_watcher_last_value_age_seconds${w("monitor", "counter")}`);
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(5);
    // No value yet: no age series at all, rather than a made-up one.
    expect(s.has(`specter_watcher_last_value_age_seconds${w("monitor", "broken")}`)).toBe(false);

    expect(s.get(`specter_process_up${p("worker")}`)).toBe(1);
    expect(s.get(`specter_process_restarts_total${p("worker")}`)).toBe(0);
    expect(
      s.get('specter_process_lines_total{service="monitor",process="worker",stream="stderr"}'),
    ).toBe(0);
    expect(
      s.get('specter_process_lines_total{service="monitor",process="crasher",stream="stderr"}'),
    ).toBeGreaterThan(0);
    expect(s.get(`specter_process_cpu_seconds_total${p("worker")}`)).toBeGreaterThanOrEqual(0);
    const rss = s.get(`specter_process_resident_memory_bytes${p("worker")}`) ?? 0;
    expect(rss).toBeGreaterThan(100_000); // a shell and a sleep: some hundreds of KiB at least
    expect(rss).toBeLessThan(1024 ** 3);

    expect(text).toContain("# TYPE specter_watcher_values_total counter");
    expect(text).toContain("# TYPE specter_process_resident_memory_bytes gauge");

    // Read again at the next scrape: the counter has moved on.
    const before = s.get(`specter_watcher_values_total${w("monitor", "counter")}`) ?? 0;
    await waitFor(
      async () =>
        (value(await scrape(server), `specter_watcher_values_total${w("monitor", "counter")}`) ??
          0) > before,
    );
  });

  test("one scrape reads each service's health once, for every metric", async () => {
    const { registry, monitor } = await setup();
    const server = serve({ registry, port: 0, metrics: true });
    let reads = 0;
    const health = monitor.health.bind(monitor);
    monitor.health = () => {
      reads++;
      return health();
    };
    await scrape(server);
    expect(reads).toBe(1);
    await scrape(server);
    expect(reads).toBe(2);
  });

  test("answers in the Prometheus text format and behind the bearer token", async () => {
    const { registry } = await setup();
    const server = serve({ registry, port: 0, metrics: true, token: "s3cret" });
    const denied = await fetch(new URL("/metrics", server.url));
    expect(denied.status).toBe(401);
    const res = await fetch(new URL("/metrics", server.url), {
      headers: { Authorization: "Bearer s3cret" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await res.text()).toContain('specter_service_up{service="monitor"} 1');
  });

  test("a stopped service reads 0 and its watchers and processes are gone", async () => {
    const { registry, monitor } = await setup();
    const server = serve({ registry, port: 0, metrics: true });
    await monitor.stop();
    const s = samples(await scrape(server));
    expect(s.get('specter_service_up{service="monitor"}')).toBe(0);
    expect([...s.keys()].filter((k) => k.includes("watcher=") || k.includes("process="))).toEqual(
      [],
    );
  });

  test("is 404 without the metrics option", async () => {
    const { registry } = await setup();
    const server = serve({ registry, port: 0 });
    const res = await fetch(new URL("/metrics", server.url));
    expect(res.status).toBe(404);
    const { error } = (await res.json()) as { error: string };
    expect(error.split("the routes are ")[1]).not.toContain("/metrics");
  });

  test("serves the application's own prom-client registry with Specter's metrics added", async () => {
    const { registry } = await setup();
    const own = new PromRegistry();
    const requests = new Counter({
      name: "app_requests_total",
      help: "Requests the app served.",
      registers: [own],
    });
    requests.inc(3);
    const server = serve({ registry, port: 0, metrics: own });
    // A second app on the same registry adds nothing twice.
    createStatusApp({ registry, metrics: own });
    expect(collectMetrics(registry, own)).toBe(own);

    const text = await scrape(server);
    const s = samples(text);
    expect(s.get("app_requests_total")).toBe(3);
    expect(s.get('specter_service_up{service="monitor"}')).toBe(1);
    expect(text.match(/^specter_service_up\{service="monitor"\}/gm)).toHaveLength(1);
    expect(text.match(/^# TYPE specter_service_up /gm)).toHaveLength(1);
    // The application's registry has them too, for wherever else it serves them.
    expect(await own.metrics()).toContain('specter_service_up{service="monitor"} 1');
  });

  test("refuses a registry that already has a metric of Specter's names, registering none", () => {
    const foreign = new PromRegistry();
    new Counter({ name: "specter_process_restarts_total", help: "not ours", registers: [foreign] });
    expect(() => collectMetrics(new Registry(), foreign)).toThrow(
      /already has specter_process_restarts_total/,
    );
    expect(foreign.getMetricsAsArray()).toHaveLength(1);
  });

  test("promtool check metrics passes on the output", async () => {
    const { registry } = await setup();
    const server = serve({ registry, port: 0, metrics: true });
    await waitFor(async () =>
      (await scrape(server)).includes('specter_process_resident_memory_bytes{service="monitor"'),
    );
    const result = await promtoolCheck(await scrape(server));
    console.log(`promtool check metrics: exit ${result.code}${result.out}${result.err}`);
    expect(result).toEqual({ code: 0, out: "", err: "" });
  });

  test("same-named watchers and processes share one series, summed; quotes, newlines and backslashes in names are escaped, and promtool accepts them", async () => {
    const registry = new Registry();
    const odd = 'say "hi"\\now\nthen';
    const service = registry.register(
      new Service(odd, {
        onStart(s) {
          for (const n of [1, 2])
            s.own(new Watcher(odd, { poll: () => n, interval: "1h" })).start();
          for (let i = 0; i < 2; i++) s.startProcess(["sleep", "30"], { name: odd });
        },
      }),
    );
    await service.start();
    cleanups.push(() => registry.stop());
    const server = serve({ registry, port: 0, metrics: true });
    await waitFor(() => service.health().watchers.every((w) => w.delivered === 1));
    const text = await waitFor(async () => {
      const t = await scrape(server);
      return /^specter_process_resident_memory_bytes\{/m.test(t) ? t : undefined;
    });
    const escaped = 'say \\"hi\\"\\\\now\\nthen';
    const w = `{service="${escaped}",watcher="${escaped}"}`;
    const p = `{service="${escaped}",process="${escaped}"}`;
    const s = samples(text);
    expect(s.get(`specter_service_up{service="${escaped}"}`)).toBe(1);
    expect(s.get(`specter_watcher_values_total${w}`)).toBe(2);
    expect(s.get(`specter_watcher_up${w}`)).toBe(2);
    expect(s.get(`specter_process_up${p}`)).toBe(2);
    expect(text.match(/^specter_watcher_last_value_age_seconds\{/gm)).toHaveLength(1);
    expect(text.match(/^specter_process_resident_memory_bytes\{/gm)).toHaveLength(1);
    // Each sample is one line: the newline in the names is written as \n.
    for (const line of text.split("\n").filter((l) => l.startsWith("specter_"))) {
      expect(line).toMatch(/ [\d.e+-]+$/);
    }
    expect(await promtoolCheck(text)).toEqual({ code: 0, out: "", err: "" });
  });

  test("a health() that throws fails that scrape only; the next one reads every service again", async () => {
    const registry = new Registry();
    let broken = true;
    class Flaky extends Service {
      override health() {
        if (broken) {
          broken = false;
          throw new Error("health broke");
        }
        return super.health();
      }
    }
    const steady = registry.register(new Service("steady"));
    registry.register(new Flaky("flaky"));
    await steady.start();
    cleanups.push(() => registry.stop());
    const server = serve({ registry, port: 0, metrics: true });
    const failed = await fetch(new URL("/metrics", server.url));
    expect(failed.status).toBe(500);
    expect(await failed.text()).toContain("health broke");
    const s = samples(await scrape(server));
    expect(s.get('specter_service_up{service="steady"}')).toBe(1);
    expect(s.get('specter_service_up{service="flaky"}')).toBe(0);
    // A service registered since is read too: no sample is kept from before.
    await registry.register(new Service("later")).start();
    expect(samples(await scrape(server)).get('specter_service_up{service="later"}')).toBe(1);
  });
});

/** `promtool check metrics` on an exposition: its exit code and what it printed. */
async function promtoolCheck(body: string): Promise<{ code: number; out: string; err: string }> {
  const promtool = Bun.which("promtool");
  if (!promtool) {
    throw new Error(
      "promtool is not installed: run `bash .ci/run`, which apt-installs Debian's prometheus package (it has promtool)",
    );
  }
  const check = Bun.spawn([promtool, "check", "metrics"], {
    stdin: new Blob([body]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, out, err] = await Promise.all([
    check.exited,
    new Response(check.stdout).text(),
    new Response(check.stderr).text(),
  ]);
  return { code, out, err };
}
