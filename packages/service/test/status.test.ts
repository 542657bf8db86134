import { describe, expect, test } from "bun:test";
import { waitFor } from "@specter/core/testing";
import { ProcessHealth } from "@specter/process";
import { Watcher, WatcherHealth } from "@specter/watcher";
import {
  ActivityEvent,
  ErrorResponse,
  HealthzResponse,
  maskArgv,
  Registry,
  Service,
  ServiceHealth,
  ServiceStatus,
  StatusResponse,
  type StatusServer,
  serveStatus,
} from "../src/index.ts";
import { cleanupAfterEach } from "./cleanups.ts";
import { countListeners, followEvents } from "./sse-clients.ts";

const cleanups = cleanupAfterEach();

async function setup(options: { token?: string } = {}) {
  const registry = new Registry();
  let n = 0;
  const monitor = registry.register(
    new Service("monitor", {
      onStart(s) {
        s.own(new Watcher("counter", { poll: () => ++n, interval: "10ms" })).start();
        // sh ignores the arguments after the script: they are there to be masked.
        s.startProcess(
          ["sh", "-c", "sleep 30", "sh", "--token", "hunter2", "API_KEY=abc123", "--name=visible"],
          {
            env: { ...process.env, SPECTER_TEST_SECRET: "do-not-leak" },
          },
        );
      },
    }),
  );
  await monitor.start();
  cleanups.push(() => registry.stop());
  const server = serveStatus({ registry, ...options });
  cleanups.push(() => server.stop());
  return { registry, monitor, server };
}

const get = (server: StatusServer, path: string, init?: RequestInit) =>
  fetch(new URL(path, server.url), init);

describe("status endpoint", () => {
  test("onResponse sees each answered request; one that throws does not break the answer", async () => {
    const registry = new Registry();
    const seen: string[] = [];
    let fail = false;
    const server = serveStatus({
      registry,
      onResponse: (request, response, ms) => {
        if (fail) throw new Error("log disk full");
        seen.push(`${request.method} ${new URL(request.url).pathname} ${response.status}`);
        expect(ms).toBeGreaterThanOrEqual(0);
      },
    });
    cleanups.push(() => server.stop());
    expect((await get(server, "/healthz")).status).toBe(200);
    expect((await get(server, "/nowhere")).status).toBe(404);
    expect(seen).toEqual(["GET /healthz 200", "GET /nowhere 404"]);
    fail = true;
    const original = console.error;
    console.error = () => {};
    try {
      expect((await get(server, "/status")).status).toBe(200);
    } finally {
      console.error = original;
    }
    expect(() => serveStatus({ registry, onResponse: 5 as never })).toThrow(
      /option "onResponse" got 5: expected a function \(request, response, ms\) => void/,
    );
  });

  test("serves on 127.0.0.1 at a free port by default", async () => {
    const { server } = await setup();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(server.port).toBeGreaterThan(0);
  });

  test("GET /status lists every service with its watchers and processes", async () => {
    const { server, monitor } = await setup();
    await waitFor(() => monitor.health().watchers[0]?.delivered);
    const res = await get(server, "/status");
    expect(res.status).toBe(200);
    const body = StatusResponse.parse(await res.json());
    expect(body.services).toHaveLength(1);
    const svc = body.services[0] as ServiceStatus;
    expect(svc).toMatchObject({ name: "monitor", state: "running", healthy: true, reasons: [] });
    expect(svc.watchers.map((w) => [w.name, w.mode, w.isolation])).toEqual([
      ["counter", "poll", "thread"],
    ]);
    expect(svc.processes.map((p) => [p.name, p.state])).toEqual([["sh", "running"]]);
  });

  test("command lines are masked and the environment is never exposed", async () => {
    const { server } = await setup();
    const text = await (await get(server, "/status")).text();
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("abc123");
    expect(text).not.toContain("do-not-leak");
    expect(text).not.toContain("SPECTER_TEST_SECRET");
    const body = StatusResponse.parse(JSON.parse(text));
    expect(body.services[0]?.processes[0]?.argv).toEqual([
      "sh",
      "-c",
      "sleep 30",
      "sh",
      "--token",
      "***",
      "API_KEY=***",
      "--name=visible",
    ]);
  });

  test("GET /status/:name shows one service, and 404s with a JSON error for an unknown name", async () => {
    const { server } = await setup();
    const one = await get(server, "/status/monitor");
    expect(one.status).toBe(200);
    expect(ServiceStatus.parse(await one.json()).name).toBe("monitor");
    const missing = await get(server, "/status/nope");
    expect(missing.status).toBe(404);
    expect(ErrorResponse.parse(await missing.json()).error).toBe(
      'no service named "nope"; registered: "monitor"',
    );
  });

  test("GET /healthz is 200 when every service runs, 503 with the reasons otherwise", async () => {
    const { server, registry } = await setup();
    const ok = await get(server, "/healthz");
    expect(ok.status).toBe(200);
    expect(HealthzResponse.parse(await ok.json())).toEqual({ ok: true, services: 1, reasons: [] });
    const broken = registry.register(
      new Service("broken", {
        onStart: (s) => {
          s.own(
            new Watcher("flaky", {
              poll: () => Promise.reject(new Error("no sensor")),
              interval: "1h",
              retry: false,
            }),
          ).start();
        },
      }),
    );
    await broken.start();
    await waitFor(() => broken.health().watchers[0]?.state === "failed");
    registry.register(new Service("idle-one"));
    const bad = await get(server, "/healthz");
    expect(bad.status).toBe(503);
    expect(HealthzResponse.parse(await bad.json())).toEqual({
      ok: false,
      services: 3,
      reasons: [
        'broken: watcher "flaky" failed: watcher "flaky": poll failed: no sensor',
        "idle-one: service is idle",
      ],
    });
  });

  test("unknown paths are 404 and other methods 405, as JSON", async () => {
    const { server } = await setup();
    const nf = await get(server, "/nowhere");
    expect(nf.status).toBe(404);
    expect(ErrorResponse.parse(await nf.json()).error).toContain(
      "no route GET /nowhere; the routes are GET /, GET /status,",
    );
    const post = await get(server, "/status", { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect(ErrorResponse.parse(await post.json()).error).toBe(
      "method POST is not allowed on /status; use GET",
    );
  });

  test("any other method on a known path is 405; a trailing slash is the same path", async () => {
    const { server } = await setup();
    expect((await get(server, "/status", { method: "PROPFIND" })).status).toBe(405);
    expect((await get(server, "/healthz", { method: "PUT" })).status).toBe(405);
    expect((await get(server, "/status/")).status).toBe(200);
  });

  test("a process that exited for good makes /healthz 503", async () => {
    const { server, registry } = await setup();
    const once = registry.register(
      new Service("once", { onStart: (s) => void s.startProcess(["sh", "-c", "exit 4"]) }),
    );
    await once.start();
    await waitFor(() => once.health().processes[0]?.state === "exited");
    const res = await get(server, "/healthz");
    expect(res.status).toBe(503);
    expect(HealthzResponse.parse(await res.json()).reasons).toEqual([
      'once: process "sh" exited (code 4) and will not restart',
    ]);
  });

  test("with a token, requests without it get 401; with it, 200", async () => {
    const { server } = await setup({ token: "s3cret" });
    const none = await get(server, "/status");
    expect(none.status).toBe(401);
    expect(ErrorResponse.parse(await none.json()).error).toContain("unauthorized");
    expect(
      (await get(server, "/status", { headers: { Authorization: "Bearer wrong!" } })).status,
    ).toBe(401);
    expect(
      (await get(server, "/status", { headers: { Authorization: "Bearer s3cret" } })).status,
    ).toBe(200);
    expect((await get(server, "/healthz?token=s3cret")).status).toBe(401);
  });

  test("the Bearer scheme is case-insensitive; a wrong or empty token is still 401", async () => {
    const { server } = await setup({ token: "s3cret" });
    const status = async (authorization: string) =>
      (await get(server, "/status", { headers: { Authorization: authorization } })).status;
    expect(await status("bearer s3cret")).toBe(200);
    expect(await status("BEARER s3cret")).toBe(200);
    expect(await status("bearer s3cret!")).toBe(401);
    expect(await status("bearer ")).toBe(401);
    expect(await status("Basic czNjcmV0")).toBe(401);
  });

  test("GET /events streams state changes, watcher values and process exits as Server-Sent Events", async () => {
    const { server, registry } = await setup();
    const res = await get(server, "/events");
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    await res.body?.cancel();
    const { frames: events, close } = await followEvents(new URL("/events", server.url));
    await waitFor(() => events.some((e) => e.event === "watcher-value"));
    const late = registry.register(
      new Service("late", { onStart: (s) => void s.startProcess(["true"]) }),
    );
    await late.start();
    await waitFor(() => events.some((e) => e.event === "process-exit"));
    await waitFor(() =>
      events.some(
        (e) => e.event === "service" && (e.data as { service: string }).service === "late",
      ),
    );
    for (const e of events.filter((x) => x.event !== "hello")) ActivityEvent.parse(e.data);
    const exit = events.find((e) => e.event === "process-exit")?.data as {
      process: string;
      exit: { exitCode: number };
    };
    expect(exit.process).toBe("true");
    expect(exit.exit.exitCode).toBe(0);
    await close();
  });

  test("HEAD /events answers the headers and leaves no listener behind; a closed stream leaves none either", async () => {
    const { server, registry } = await setup();
    const listening = countListeners(registry);
    for (let i = 0; i < 5; i++) {
      const head = await get(server, "/events", { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-type")).toBe("text/event-stream");
      expect(await head.text()).toBe("");
    }
    expect(listening()).toBe(0);
    const res = await get(server, "/events");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    expect(listening()).toBe(1);
    await reader.cancel();
    await waitFor(() => listening() === 0, { message: "the closed stream's listener to go" });
  });

  test("stop() closes the server and its open event streams", async () => {
    const { server } = await setup();
    const res = await get(server, "/events");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await server.stop();
    const rest = await (async () => {
      try {
        for (;;) if ((await reader.read()).done) return "ended";
      } catch {
        return "ended";
      }
    })();
    expect(rest).toBe("ended");
    await expect(fetch(server.url)).rejects.toThrow();
  });

  test("bad options are errors that name them", () => {
    expect(() => serveStatus({ port: 70000 })).toThrow('serveStatus: option "port" got 70000');
    expect(() => serveStatus({ registry: {} as never })).toThrow(
      'createStatusApp: option "registry" got {}: expected a Registry',
    );
  });
});

describe("every health field reaches /status", () => {
  /** Every key path in `value`, array elements by index: `processes[0].lastExit.pid`. */
  function keyPaths(value: unknown, path = ""): string[] {
    if (Array.isArray(value)) return value.flatMap((v, i) => keyPaths(v, `${path}[${i}]`));
    if (value === null || typeof value !== "object") return [];
    return Object.entries(value).flatMap(([key, v]) => {
      const at = path ? `${path}.${key}` : key;
      return [at, ...keyPaths(v, at)];
    });
  }

  test("the key sets of health() (service, watchers, processes, children) and of GET /status match", async () => {
    const registry = new Registry();
    let n = 0;
    const svc = registry.register(
      new Service("fields", {
        async onStart(s) {
          s.own(new Watcher("counter", { poll: () => ++n, interval: "10ms" })).start();
          const flaky = s.own(
            new Watcher("flaky", {
              poll: () => Promise.reject(new Error("no sensor")),
              interval: "1h",
              retry: false,
            }),
          );
          flaky.onError(() => {});
          flaky.start();
          s.startProcess(["sleep", "30"], { terminateTimeout: "2s" });
          s.startProcess(["sh", "-c", "exit 4"], { name: "once" });
          s.timeout(() => {
            throw new Error("task bug");
          }, "1ms");
          await s.adopt(
            new Service("child", {
              onStart: (c) => void c.startProcess(["sleep", "30"], { terminateTimeout: "2s" }),
            }),
          );
        },
      }),
    );
    svc.onError(() => {});
    await svc.start();
    cleanups.push(() => registry.stop());
    const server = serveStatus({ registry });
    cleanups.push(() => server.stop());
    // Wait until the nullable objects are filled in, so their fields are compared too.
    await waitFor(() => {
      const h = svc.health();
      return (
        h.lastError &&
        h.watchers.every((w) => w.lastValueAt || w.lastError) &&
        h.processes.some((p) => p.lastExit)
      );
    });

    const body = (await (await get(server, "/status")).json()) as { services: unknown[] };
    const status = StatusResponse.parse(body); // strict: no field the schemas do not know
    const json = body.services[0];
    const health = svc.health();
    ServiceHealth.parse(health); // strict: health() has exactly the fields of its schema
    for (const w of health.watchers) WatcherHealth.parse(w);
    for (const p of health.processes) ProcessHealth.parse(p);

    const added = /(^|\.|\])(healthy|reasons|argv|data)(\[|\.|$)/;
    const fromHealth = keyPaths(health).sort();
    const shown = keyPaths(json).filter((path) => !added.test(path));
    expect(shown.sort()).toEqual(fromHealth);
    // Not vacuous: the nested objects were there to compare.
    for (const path of [
      "owned",
      "lastError.phase",
      "watchers[1].lastError.message",
      "processes[1].lastExit.exitCode",
      "processes[0].streams.stdout.lines",
      "children[0].processes[0].pid",
    ]) {
      expect(fromHealth).toContain(path);
    }
    expect(status.services[0]?.processes.map((p) => p.argv)).toEqual([
      ["sleep", "30"],
      ["sh", "-c", "exit 4"],
    ]);
  }, 10_000);

  test("the status schemas are strict: a field they do not know fails the parse", () => {
    const watcher = {
      name: "w",
      mode: "poll",
      state: "idle",
      isolation: "thread",
      errorCount: 0,
      consecutiveErrors: 0,
      callbackErrors: 0,
      lastError: null,
      lastValueAt: null,
      delivered: 0,
      deduped: 0,
      uptime: 0,
      subscribers: 0,
      skippedTicks: 0,
      workerRestarts: 0,
      lastWorkerRestart: null,
      quarantined: false,
      unkillable: false,
      nextRetryIn: null,
    };
    const service = {
      name: "s",
      state: "idle",
      healthy: false,
      reasons: ["s: service is idle"],
      data: {},
      uptime: 0,
      owned: 0,
      tasks: { intervals: 0, timeouts: 0, spawned: 0 },
      errorCount: 0,
      lastError: null,
      watchers: [watcher],
      processes: [],
      children: [],
    };
    expect(ServiceStatus.parse(service)).toEqual(service as never);
    expect(() => ServiceStatus.parse({ ...service, extra: 1 })).toThrow();
    expect(() =>
      ServiceStatus.parse({ ...service, watchers: [{ ...watcher, extra: 1 }] }),
    ).toThrow();
    expect(() =>
      ServiceStatus.parse({ ...service, children: [{ ...service, extra: 1 }] }),
    ).toThrow();
  });
});

describe("maskArgv", () => {
  test.each([
    [
      ["--token", "abc"],
      ["--token", "***"],
    ],
    [["--password=pw"], ["--password=***"]],
    [
      ["--api-key", "k", "--verbose"],
      ["--api-key", "***", "--verbose"],
    ],
    [
      ["-secret", "s"],
      ["-secret", "***"],
    ],
    [
      ["DB_PASSWORD=x", "MODE=fast"],
      ["DB_PASSWORD=***", "MODE=fast"],
    ],
    [
      ["tunnel", "--url", "http://127.0.0.1:5000"],
      ["tunnel", "--url", "http://127.0.0.1:5000"],
    ],
    [
      ["psql", "postgres://app:hunter2@db/prod"],
      ["psql", "postgres://app:***@db/prod"],
    ],
    [
      ["openssl", "-pass", "pass:hunter2"],
      ["openssl", "-pass", "***"],
    ],
    [
      ["openssl", "enc", "-k", "pass:hunter2"],
      ["openssl", "enc", "-k", "***"],
    ],
    [
      ["gpg", "--passphrase", "hunter2"],
      ["gpg", "--passphrase", "***"],
    ],
    [
      ["curl", "-H", "Authorization: Bearer hunter2"],
      ["curl", "-H", "Authorization: Bearer ***"],
    ],
    [
      ["sh", "-c", "mysql --password hunter2 -e 'select 1'"],
      ["sh", "-c", "mysql --password *** -e 'select 1'"],
    ],
    [
      ["curl", "https://api.example/v1?page=2&api_key=hunter2&token=t0k#top"],
      ["curl", "https://api.example/v1?page=2&api_key=***&token=***#top"],
    ],
    [
      ["sh", "-c", "curl 'https://h/x?access_token=hunter2' -o out"],
      ["sh", "-c", "curl 'https://h/x?access_token=***' -o out"],
    ],
  ])("%p -> %p", (input, output) => {
    expect(maskArgv(input)).toEqual(output);
  });
});
