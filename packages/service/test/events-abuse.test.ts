/**
 * `/events` against clients that misbehave: HEAD requests, clients that go away, clients that
 * never read, and values too large to send. Real HTTP on 127.0.0.1.
 */
import { describe, expect, test } from "bun:test";
import { OptionsError } from "@specter/core";
import { waitFor } from "@specter/core/testing";
import {
  ActivityEvent,
  createStatusApp,
  Registry,
  Service,
  type StatusServer,
  serveStatus,
} from "../src/index.ts";
import { cleanupAfterEach } from "./cleanups.ts";
import { countListeners, eventsIn, stalledClient } from "./sse-clients.ts";

const cleanups = cleanupAfterEach();

async function setup(options: Parameters<typeof serveStatus>[0] = {}) {
  const registry = new Registry();
  const listening = countListeners(registry);
  const svc = registry.register(new Service("s", {}));
  await svc.start();
  cleanups.push(() => registry.stop());
  const server = serveStatus({ registry, ...options });
  cleanups.push(() => server.stop());
  return { registry, svc, server, listening };
}

/** Opens `/events` and reads its first chunk (the "hello"), so the stream is surely open. */
async function openEvents(server: StatusServer, init?: RequestInit) {
  const res = await fetch(new URL("/events", server.url), init);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  const pump = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return "ended";
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      return "ended";
    }
  })();
  return { reader, pump, text: () => text };
}

describe("/events against misbehaving clients", () => {
  test("HEAD /events opens no stream: 300 of them leave no listener", async () => {
    const { server, listening } = await setup();
    for (let i = 0; i < 300; i++) {
      const head = await fetch(new URL("/events", server.url), { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-type")).toBe("text/event-stream");
      await head.arrayBuffer();
    }
    expect(listening()).toBe(0);
  });

  test("a client that goes away ends its stream and removes its listener", async () => {
    const { server, listening } = await setup();
    const abort = new AbortController();
    await openEvents(server, { signal: abort.signal });
    expect(listening()).toBe(1);
    abort.abort();
    await waitFor(() => listening() === 0, { message: "the aborted stream's listener to go" });
  });

  test("stop() ends every stream, read or not, and removes every listener", async () => {
    const { server, svc, listening } = await setup();
    const reading = await openEvents(server);
    const stalled = await stalledClient(server.port);
    cleanups.push(() => stalled.kill());
    await waitFor(() => listening() === 2, { message: "both streams to listen" });
    // Fill the stalled client's socket, so Bun no longer pulls from its stream.
    for (let i = 0; i < 64; i++) svc.emit("big", "x".repeat(60_000));
    await server.stop();
    expect(listening()).toBe(0);
    expect(await reading.pump).toBe("ended");
    svc.emit("after", 1);
    expect(listening()).toBe(0);
  });

  test("createStatusApp in your own Bun.serve: stop(true) ends the streams and their listeners", async () => {
    const registry = new Registry();
    const listening = countListeners(registry);
    const own = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      idleTimeout: 0,
      fetch: createStatusApp({ registry }).fetch,
    });
    cleanups.push(() => own.stop(true));
    const res = await fetch(new URL("/events", own.url));
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    expect(listening()).toBe(1);
    await own.stop(true);
    await waitFor(() => listening() === 0, { message: "the stream's listener to go" });
  });

  test("a client that never reads holds at most maxQueuedBytes; it is told how many events it lost", async () => {
    const { server, svc, listening } = await setup({
      maxEventBytes: 2 << 20,
      maxQueuedBytes: 4 << 20,
    });
    const stalled = await stalledClient(server.port);
    cleanups.push(() => stalled.kill());
    await waitFor(() => listening() === 1, { message: "the stream to listen" });
    const value = "v".repeat(1 << 20);
    const emitted = 120;
    for (let i = 0; i < emitted; i++) {
      svc.emit("big", value);
      // Let the server write what the connection takes between values.
      await Bun.sleep(1);
    }
    const text = stalled.read();
    const delivered = () => eventsIn(text(), "event").length;
    const dropped = () =>
      eventsIn(text(), "dropped").reduce<number>((n, d) => n + (d as { count: number }).count, 0);
    // Every value is accounted for: sent whole, or counted in a "dropped" event.
    await waitFor(() => delivered() + dropped() === emitted, {
      timeout: 10_000,
      message: `${emitted} values delivered or counted as dropped`,
    });
    // What was delivered is what the queue (4 values) and the kernel's socket buffers held.
    expect(delivered()).toBeLessThan(40);
  }, 20_000);

  test("a value over maxEventBytes is sent as a marker that says how large it was", async () => {
    const { server, svc } = await setup();
    const stream = await openEvents(server);
    svc.emit("small", "fits");
    svc.emit("huge", "y".repeat(100_000));
    await waitFor(() => eventsIn(stream.text(), "event").length === 2);
    const [small, huge] = eventsIn(stream.text(), "event") as { data: unknown; at: number }[];
    expect(small?.data).toBe("fits");
    const json = JSON.stringify({
      type: "event",
      service: "s",
      event: "huge",
      data: "y".repeat(100_000),
      at: huge?.at,
    });
    expect(huge?.data).toBe(
      `[too large: ${json.length} bytes of JSON, over maxEventBytes (65536)]`,
    );
    ActivityEvent.parse(huge);
    await stream.reader.cancel();
  });

  test("beyond maxClients open streams, /events answers 503 with Retry-After; a slot frees when a client goes", async () => {
    const { server, listening } = await setup({ maxClients: 3 });
    // Two reading clients and one that never reads.
    const aborts = [new AbortController(), new AbortController()];
    for (const abort of aborts) await openEvents(server, { signal: abort.signal });
    const stalled = await stalledClient(server.port);
    cleanups.push(() => stalled.kill());
    await waitFor(() => listening() === 3, { message: "three streams to listen" });
    const refused = await fetch(new URL("/events", server.url));
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("10");
    expect(await refused.json()).toEqual({
      error: "too many /events clients: 3 streams are open, maxClients is 3; try again later",
    });
    expect(listening()).toBe(3);
    // The other routes still answer.
    expect((await fetch(new URL("/status", server.url))).status).toBe(200);
    (aborts[0] as AbortController).abort();
    await waitFor(() => listening() === 2, { message: "the aborted stream to end" });
    const again = await openEvents(server);
    expect(listening()).toBe(3);
    await again.reader.cancel();
    for (const abort of aborts) abort.abort();
  });

  test("maxClients is checked: a whole number, at least 1", () => {
    const registry = new Registry();
    expect(() => createStatusApp({ registry, maxClients: 0 })).toThrow(
      'option "maxClients" got 0: expected a whole number, at least 1',
    );
    expect(() => createStatusApp({ registry, maxClients: 2.5 })).toThrow(OptionsError);
  });

  test("the byte options are checked: whole numbers, and the queue holds the largest event", () => {
    const registry = new Registry();
    expect(() => createStatusApp({ registry, maxQueuedBytes: 1.5 })).toThrow(
      'option "maxQueuedBytes" got 1.5: expected a whole number of bytes',
    );
    expect(() => createStatusApp({ registry, maxEventBytes: 10 })).toThrow(
      'option "maxEventBytes" got 10: expected a whole number of bytes, at least 1024',
    );
    expect(() =>
      createStatusApp({ registry, maxEventBytes: 1 << 20, maxQueuedBytes: 1 << 19 }),
    ).toThrow(OptionsError);
    expect(() =>
      createStatusApp({ registry, maxEventBytes: 1 << 20, maxQueuedBytes: 1 << 19 }),
    ).toThrow(
      'option "maxQueuedBytes" got 524288: expected at least maxEventBytes (a queue must hold the largest event)',
    );
  });
});
