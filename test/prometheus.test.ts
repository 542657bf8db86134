/**
 * A real Prometheus (Debian's `prometheus` package, which `.ci/run` installs) scrapes the demo's
 * `/metrics` on 127.0.0.1 and answers a query for `specter_process_restarts_total` through its
 * HTTP API: the demo's child crashes every few seconds and is restarted, so the value goes above 0.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collectLines, waitFor } from "@specter/core/testing";

const ROOT = join(import.meta.dir, "..");
const DEMO = join(ROOT, "apps/demo/src/main.ts");

interface Started {
  name: string;
  child: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Everything it wrote to stderr, once it has exited. */
  stderr: Promise<string>;
}

const started: Started[] = [];
const tmpDirs: string[] = [];

/** Stops what is still running (SIGINT, the way a person would), then removes the temp dirs. */
async function stopAll(): Promise<{ name: string; exitCode: number | null }[]> {
  const exits: { name: string; exitCode: number | null }[] = [];
  for (const { name, child } of started.splice(0).reverse()) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
    // Bounded: a child that ignores SIGINT is killed, and that shows as a failed exit below.
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await child.exited;
    clearTimeout(timer);
    exits.push({ name, exitCode: child.exitCode });
  }
  for (const dir of tmpDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  return exits;
}
afterAll(stopAll);

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tmpDirs.push(dir);
  return dir;
}

function spawn(name: string, argv: string[], env: Record<string, string> = {}) {
  const child = Bun.spawn(argv, {
    cwd: ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  const entry: Started = { name, child, stderr: new Response(child.stderr).text() };
  started.push(entry);
  return entry;
}

/** A port nothing listens on now: the OS picks it for a server that is stopped at once. */
async function freePort(): Promise<number> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  await probe.stop(true);
  return port;
}

interface QueryResponse {
  status: string;
  data: {
    resultType: string;
    result: { metric: Record<string, string>; value: [number, string] }[];
  };
}

test("Prometheus scrapes the demo and answers a query for specter_process_restarts_total", async () => {
  const prometheusBin = Bun.which("prometheus");
  if (!prometheusBin) {
    throw new Error(
      "prometheus is not installed: run `bash .ci/run`, which apt-installs Debian's prometheus package",
    );
  }

  // The demo, on a free port, with its events as JSON lines; its own TMPDIR for its log folder.
  const demo = spawn("demo", [process.execPath, DEMO, "--port", "0", "--json"], {
    TMPDIR: tempDir("specter-prometheus-demo-"),
  });
  const demoOut = collectLines(demo.child.stdout);
  const ready = await waitFor(
    () => {
      const line = demoOut.lines.find((l) => l.includes('"ready"'));
      return line ? (JSON.parse(line) as { type: string; status: string }) : undefined;
    },
    { timeout: 15_000, message: "the demo's ready line" },
  );
  const target = new URL(ready.status).host; // 127.0.0.1:PORT

  // Prometheus scraping it every second, its data in a temp dir.
  const dir = tempDir("specter-prometheus-");
  const config = join(dir, "prometheus.yml");
  await Bun.write(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      "scrape_configs:",
      "  - job_name: specter-demo",
      "    metrics_path: /metrics",
      "    static_configs:",
      `      - targets: ["${target}"]`,
      "",
    ].join("\n"),
  );
  const port = await freePort();
  const prometheus = spawn("prometheus", [
    prometheusBin,
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ]);
  const api = `http://127.0.0.1:${port}`;
  const failed = async (what: string) => {
    const exited = prometheus.child.exitCode !== null || prometheus.child.signalCode !== null;
    return exited ? `${what}; prometheus exited: ${await prometheus.stderr}` : what;
  };

  let exits: Awaited<ReturnType<typeof stopAll>>;
  try {
    await waitFor(
      async () => {
        if (prometheus.child.exitCode !== null) throw new Error(await failed("not ready"));
        return (await fetch(`${api}/-/ready`).catch(() => undefined))?.ok;
      },
      { timeout: 15_000, every: 100, message: "prometheus to be ready" },
    );

    const query = `${api}/api/v1/query?query=specter_process_restarts_total`;
    const answer = await waitFor(
      async () => {
        if (prometheus.child.exitCode !== null) throw new Error(await failed("no answer"));
        const body = (await (await fetch(query)).json()) as QueryResponse;
        return body.data.result.some((r) => Number(r.value[1]) > 0) ? body : undefined;
      },
      {
        timeout: 30_000,
        every: 250,
        message: "Prometheus to report specter_process_restarts_total > 0",
      },
    );
    console.log(
      `GET /api/v1/query?query=specter_process_restarts_total\n${JSON.stringify(answer, null, 2)}`,
    );

    expect(answer.status).toBe("success");
    expect(answer.data.resultType).toBe("vector");
    const restarts = answer.data.result.find((r) => Number(r.value[1]) > 0);
    expect(restarts?.metric).toMatchObject({
      __name__: "specter_process_restarts_total",
      job: "specter-demo",
      instance: target,
      service: "supervisor",
      process: "child",
    });
    // The scrape itself is healthy: `up` is 1 for the demo's target.
    const up = (await (
      await fetch(`${api}/api/v1/query?query=up{job="specter-demo"}`)
    ).json()) as QueryResponse;
    expect(up.data.result.map((r) => r.value[1])).toEqual(["1"]);
  } finally {
    exits = await stopAll();
  }
  // Both stop on SIGINT and exit 0: the demo once it has stopped everything it started.
  expect(exits).toEqual([
    { name: "prometheus", exitCode: 0 },
    { name: "demo", exitCode: 0 },
  ]);
}, 60_000);
