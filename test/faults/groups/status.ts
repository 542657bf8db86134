import { OptionsError } from "@specter/core";
import { Registry, Service, serveStatus } from "@specter/service";
import { Watcher } from "@specter/watcher";
import {
  ERROR_SECRETS,
  everyRoute,
  leaks,
  READABLE,
  secretErrors,
} from "../../../packages/service/test/error-secrets.ts";
import { group, since } from "../lib.ts";

const g = group("status");
const registry = new Registry();
const svc = registry.register(
  new Service("monitor", {
    onStart: (s) =>
      void s.own(new Watcher("tick", { poll: () => Date.now(), interval: "50ms" })).start(),
  }),
);
await svc.start();
// Bun's fetch client keeps an epoll and an eventfd once used: warm it up before the fd baseline.
await (await fetch("data:,warm-up")).text();
const warmUp = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") });
await (await fetch(warmUp.url)).text();
await warmUp.stop(true);
g.baseline();
const server = serveStatus({ registry });
const secured = serveStatus({ registry, token: "s3cret" });

const rssMb = () => {
  Bun.gc(true);
  return process.memoryUsage().rss / 1048576;
};

/** Sends 10,000 GETs over `concurrency` connections; counts non-200 answers and RSS growth. */
async function load(concurrency: number, paths: string[]) {
  const before = rssMb();
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < 10_000) {
        const path = paths[next++ % paths.length];
        const res = await fetch(`${server.url}${path}`);
        await res.arrayBuffer();
        if (res.status !== 200) errors++;
      }
    }),
  );
  const ms = since(t0);
  const growth = rssMb() - before;
  return {
    figure: `${errors} errors, ${Math.round(10_000 / (ms / 1000))} req/s, RSS ${growth >= 0 ? "+" : ""}${growth.toFixed(1)} MB`,
    ok: errors === 0 && growth < 20,
  };
}

const paths = ["status", "status/monitor", "healthz"];
for (let i = 0; i < 500; i++) await (await fetch(`${server.url}${paths[i % 3]}`)).arrayBuffer(); // warm-up
await g.check("10,000 sequential requests on loopback", "no error; memory flat", () =>
  load(1, paths),
);
await g.check("10,000 requests, 50 concurrent", "no error; memory flat", () => load(50, paths));

await g.check("malformed paths and methods", "404 or 405 with a JSON error", async () => {
  const cases: [string, string, number][] = [
    ["GET", "nope", 404],
    ["GET", "status/unknown-service", 404],
    ["GET", "status/%E0%A4%A", 404],
    ["GET", "..%2F..%2Fetc%2Fpasswd", 404],
    ["GET", "status/monitor/extra", 404],
    ["POST", "status", 405],
    ["DELETE", "status/monitor", 405],
    ["PUT", "healthz", 405],
    ["PATCH", "events", 405],
  ];
  const wrong: string[] = [];
  for (const [method, path, expected] of cases) {
    const res = await fetch(`${server.url}${path}`, { method });
    const body = (await res.json().catch(() => null)) as { error?: unknown } | null;
    if (res.status !== expected || typeof body?.error !== "string")
      wrong.push(`${method} /${path} → ${res.status}`);
  }
  return {
    figure: wrong.length
      ? `wrong: ${wrong.join("; ")}`
      : `${cases.length} cases answered 404/405 JSON`,
    ok: wrong.length === 0,
  };
});

await g.check("token set: requests without it", "401", async () => {
  const codes: number[] = [];
  for (const path of ["status", "status/monitor", "healthz", "events"]) {
    codes.push((await fetch(`${secured.url}${path}`)).status);
    codes.push(
      (await fetch(`${secured.url}${path}`, { headers: { Authorization: "Bearer wrong" } })).status,
    );
  }
  const good = await fetch(`${secured.url}status`, { headers: { Authorization: "Bearer s3cret" } });
  return {
    figure: `without/wrong token: ${[...new Set(codes)].join(",")}; with it: ${good.status}`,
    ok: codes.every((c) => c === 401) && good.status === 200,
  };
});

await g.check(
  "?token= on routes other than /events and the page",
  "401 (the token stays out of URLs and logs); 200 on /events and /",
  async () => {
    const codes: string[] = [];
    for (const path of ["status", "status/monitor", "healthz", "events", ""]) {
      const res = await fetch(`${secured.url}${path}?token=s3cret`);
      await res.body?.cancel();
      codes.push(`/${path} ${res.status}`);
    }
    const expected = ["/status 401", "/status/monitor 401", "/healthz 401", "/events 200", "/ 200"];
    return { figure: codes.join(", "), ok: codes.join() === expected.join() };
  },
);

await g.check(
  "Authorization: bearer (lower case), BEARER",
  "200: schemes are case-insensitive",
  async () => {
    const codes: number[] = [];
    for (const scheme of ["bearer", "BEARER"]) {
      const res = await fetch(`${secured.url}status`, {
        headers: { Authorization: `${scheme} s3cret` },
      });
      await res.arrayBuffer();
      codes.push(res.status);
    }
    return { figure: `bearer ${codes[0]}, BEARER ${codes[1]}`, ok: codes.every((c) => c === 200) };
  },
);

await g.check(
  'hostname "0.0.0.0", "::", a LAN IP; no token',
  "refused (OptionsError naming hostname, token, allowUnauthenticated); nothing listens",
  async () => {
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const port = probe.port as number;
    await probe.stop(true);
    const outcomes: string[] = [];
    for (const hostname of ["0.0.0.0", "::", "192.168.1.20"]) {
      try {
        const started = serveStatus({ registry, hostname, port });
        await started.stop();
        outcomes.push(`${hostname} started`);
      } catch (error) {
        const m = (error as Error).message;
        const named = ["hostname", "token", "allowUnauthenticated"].every((w) => m.includes(w));
        outcomes.push(`${hostname} ${error instanceof OptionsError && named ? "refused" : m}`);
      }
    }
    const listening = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    return {
      figure: `${outcomes.join(", ")}; port ${listening ? "listening" : "not listening"}`,
      ok: outcomes.every((o) => o.endsWith("refused")) && !listening,
    };
  },
);

await g.check(
  "secrets in error messages (4 sources, 6 routes)",
  "none shown on /status, /status/<name>, /healthz, the page or /events; the rest readable",
  async () => {
    const scenario = await secretErrors();
    try {
      const routes = await everyRoute(scenario);
      const shown = leaks(routes);
      const status = routes["/status"] ?? "";
      const readable = READABLE.every((part) => status.includes(part));
      const pairs = ERROR_SECRETS.length * Object.keys(routes).length;
      const where = [...new Set(shown.map((s) => s.split(":")[0]))];
      return {
        figure: `${shown.length} of ${pairs} (secret, route) pairs shown${where.length ? ` (on ${where.join(", ")})` : ""}; messages ${readable ? "readable" : "not readable"}`,
        ok: shown.length === 0 && readable,
      };
    } finally {
      await scenario.stop();
    }
  },
);

await server.stop();
await secured.stop();
await registry.stop();

await g.done();
