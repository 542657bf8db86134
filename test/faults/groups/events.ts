/**
 * Fault group: /events under abuse, on loopback only: HEAD requests, clients that never read,
 * values too large to send, too many clients (issue 15, items 8 and 9).
 */
import { connect, type Socket } from "node:net";
import { waitFor } from "@specter/core/testing";
import { Registry, Service, serveStatus } from "@specter/service";
import { Watcher } from "@specter/watcher";
import {
  countListeners,
  eventsIn,
  stalledClient,
} from "../../../packages/service/test/sse-clients.ts";
import { group } from "../lib.ts";

const g = group("events");
const rssMb = () => {
  Bun.gc(true);
  return process.memoryUsage().rss / 1048576;
};

// Warm up fetch and the server machinery first: what they open once stays open for the process.
await (await fetch("data:,warm-up")).text();
const warmUp = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") });
await (await fetch(warmUp.url)).text();
await warmUp.stop(true);
g.baseline();

// The issue's scenarios on a registry of their own, so the listeners counted are the streams'.
const abused = new Registry();
const listening = countListeners(abused);
const ticker = abused.register(new Service("ticker", {}));
await ticker.start();
const open = serveStatus({ registry: abused });

await g.check(
  "5,000 HEAD /events (no token)",
  "HEAD opens no stream: no listener left",
  async () => {
    for (let i = 0; i < 5000; i++) {
      const res = await fetch(`${open.url}events`, { method: "HEAD" });
      await res.arrayBuffer();
    }
    return { figure: `listeners after: ${listening()} (issue: 5,000)`, ok: listening() === 0 };
  },
);

await g.check(
  "then 10,000 events emitted",
  "cost as with no client (issue: 7,130 ms CPU instead of 29 ms, RSS 53 → 272 MB)",
  async () => {
    const before = rssMb();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < 10_000; i++) ticker.emit("tick", { i });
    await new Promise((resolve) => setImmediate(resolve));
    const cpu = process.cpuUsage(cpu0);
    const ms = Math.round((cpu.user + cpu.system) / 1000);
    const after = rssMb();
    return {
      figure: `CPU ${ms} ms, RSS ${before.toFixed(0)} → ${after.toFixed(0)} MB`,
      ok: ms < 500 && after - before < 20,
    };
  },
);

await g.check(
  "server.stop() with a reading and a stalled stream",
  "every stream ends, every listener is removed",
  async () => {
    const reading = await fetch(`${open.url}events`);
    const reader = (reading.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const stalled = await stalledClient(open.port);
    try {
      await waitFor(() => listening() === 2, { message: "both streams to listen" });
      await open.stop();
      const left = listening();
      let ended = false;
      try {
        for (;;) if ((await reader.read()).done) break;
        ended = true;
      } catch {
        ended = true;
      }
      return {
        figure: `listeners after stop(): ${left}; reading stream ${ended ? "ended" : "open"}`,
        ok: left === 0 && ended,
      };
    } finally {
      await stalled.kill();
    }
  },
);
await abused.stop();

/**
 * One `/events` client that never reads while a watcher produces 1,000 values of 1 MB (the
 * issue: host RSS 50 → 1,064 MB), then reads: every value is delivered or counted as dropped.
 */
async function neverReading(options: { maxEventBytes?: number; maxQueuedBytes?: number }) {
  const reg = new Registry();
  let activities = 0;
  reg.onActivity(() => activities++);
  const streams = countListeners(reg);
  const svc = reg.register(new Service("big", {}));
  await svc.start();
  const srv = serveStatus({ registry: reg, ...options });
  const client = await stalledClient(srv.port);
  try {
    await waitFor(() => streams() === 1, { message: "the stream to listen" });
    activities = 0;
    const before = rssMb();
    let n = 0;
    const watcher = svc.own(
      new Watcher("mb", { poll: () => `${n++}:`.padEnd(1 << 20, "x"), interval: "5ms" }),
    );
    watcher.start();
    await waitFor(() => n >= 1000, { timeout: 30_000, message: "1,000 values" });
    await watcher.stop();
    const after = rssMb();
    const text = client.read();
    const count = () => {
      const dropped = eventsIn(text(), "dropped").reduce<number>(
        (sum, d) => sum + (d as { count: number }).count,
        0,
      );
      // Every whole event but the stream's own.
      const sent = text()
        .split("\n\n")
        .slice(0, -1)
        .filter(
          (block) => /^event: /m.test(block) && !/^event: (hello|dropped)$/m.test(block),
        ).length;
      return { dropped, sent };
    };
    await waitFor(() => count().dropped + count().sent === activities, {
      timeout: 10_000,
      message: "every event delivered or counted as dropped",
    }).catch(() => {});
    const { dropped, sent } = count();
    const markers = eventsIn(text(), "watcher-value").filter((v) =>
      String((v as { value: unknown }).value).startsWith("[too large:"),
    ).length;
    return {
      figure: `RSS ${before.toFixed(0)} → ${after.toFixed(0)} MB; ${activities} events: ${sent} sent (${markers} as too-large markers), ${dropped} dropped`,
      ok:
        after - before < 50 &&
        dropped + sent === activities &&
        (options.maxEventBytes === undefined ? markers === 1000 : dropped > 0),
    };
  } finally {
    await client.kill();
    await srv.stop();
    await reg.stop();
  }
}

await g.check(
  "never-reading /events client, 1,000 × 1 MB values",
  "RSS flat (issue: 50 → 1,064 MB); values over maxEventBytes (64 KiB) sent as markers",
  () => neverReading({}),
);
await g.check(
  "same, maxEventBytes 2 MiB, maxQueuedBytes 4 MiB",
  "RSS within the byte budget; the oldest dropped and counted",
  () => neverReading({ maxEventBytes: 2 << 20, maxQueuedBytes: 4 << 20 }),
);

await g.check(
  "secrets in watcher values and emitted events",
  "masked on /events and on the page as on /status (secret keys, URL passwords, auth schemes)",
  async () => {
    const reg = new Registry();
    const secret = { user: "app", password: "S3CR3T_W", url: "redis://:S3CR3T_U@cache:6379" };
    const svc = reg.register(
      new Service("leaky", {
        onStart: (s) =>
          void s.own(new Watcher("creds", { poll: () => secret, interval: "20ms" })).start(),
      }),
    );
    await svc.start();
    const srv = serveStatus({ registry: reg });
    try {
      const res = await fetch(`${srv.url}events`);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let text = "";
      await waitFor(
        async () => {
          text += decoder.decode((await reader.read()).value, { stream: true });
          return /^event: watcher-value$/m.test(text);
        },
        { message: "a watcher value" },
      );
      svc.emit("login", { token: "S3CR3T_E", header: "Authorization: bearer S3CR3T_H" });
      await waitFor(
        async () => {
          text += decoder.decode((await reader.read()).value, { stream: true });
          return /^event: event$/m.test(text);
        },
        { message: "the event" },
      );
      await reader.cancel();
      const page = await (await fetch(srv.url)).text();
      const inEvents = text.split("S3CR3T").length - 1;
      const inPage = page.split("S3CR3T").length - 1;
      return {
        figure: `secrets shown: /events ${inEvents}, page ${inPage} (before: every one, unmasked)`,
        ok: inEvents === 0 && inPage === 0 && text.includes('"password":"***"'),
      };
    } finally {
      await srv.stop();
      await reg.stop();
    }
  },
);

/**
 * 200 clients open `/events` and never read (sockets paused), then 100 events of 60 KB come: how
 * many streams are opened, how many refused, and the host's RSS, with `maxClients` as set.
 */
async function manyNeverReading(maxClients: number | undefined) {
  const reg = new Registry();
  const svc = reg.register(new Service("big", {}));
  await svc.start();
  const answers: { status: number; retryAfter: string | null }[] = [];
  const srv = serveStatus({
    registry: reg,
    ...(maxClients === undefined ? {} : { maxClients }),
    onResponse: (_request, response) =>
      answers.push({ status: response.status, retryAfter: response.headers.get("retry-after") }),
  });
  const sockets: Socket[] = [];
  try {
    const before = rssMb();
    for (let i = 0; i < 200; i++) {
      const socket = connect(srv.port, "127.0.0.1");
      socket.on("error", () => {});
      sockets.push(socket);
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.write("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      socket.pause();
    }
    await waitFor(() => answers.length === 200, { timeout: 10_000, message: "200 answers" });
    const value = "x".repeat(60_000);
    for (let i = 0; i < 100; i++) {
      svc.emit("big", `${i}${value}`);
      await Bun.sleep(1);
    }
    const after = rssMb();
    const open = answers.filter((a) => a.status === 200).length;
    const refused = answers.filter((a) => a.status === 503);
    return {
      open,
      refused: refused.length,
      retryAfter: refused.every((a) => a.retryAfter !== null),
      rss: `RSS ${before.toFixed(0)} → ${after.toFixed(0)} MB`,
    };
  } finally {
    for (const socket of sockets) socket.destroy();
    await srv.stop();
    await reg.stop();
  }
}

await g.check(
  "200 never-reading /events clients, then 100 events of 60 KB",
  "at most maxClients (default 64) streams; the rest 503 with Retry-After; RSS bounded",
  async () => {
    const limited = await manyNeverReading(undefined);
    const unlimited = await manyNeverReading(1000);
    return {
      figure: `default: ${limited.open} streams, ${limited.refused} refused (503), ${limited.rss}; maxClients 1000 (as before, no limit): ${unlimited.open} streams, ${unlimited.rss}`,
      ok: limited.open === 64 && limited.refused === 136 && limited.retryAfter,
    };
  },
);

await g.done();
