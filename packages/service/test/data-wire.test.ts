/**
 * A service's data on the wire: `/status` shows it and `/events` carries each change, both masked
 * like command lines and bounded in size; `/status/<path>` addresses child services. Real HTTP on
 * 127.0.0.1.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { waitFor } from "@specter/core/testing";
import {
  ActivityEvent,
  ErrorResponse,
  MAX_DATA_VALUE_CHARS,
  maskData,
  Registry,
  Service,
  ServiceStatus,
  type StatusServer,
  serveStatus,
} from "../src/index.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

type MonitorData = Record<string, unknown>;

async function setup() {
  const registry = new Registry();
  const monitor = registry.register(
    new Service<{ data: MonitorData }>("monitor", {
      initialData: {
        hdmi: "connected",
        apiToken: "tok-123",
        db: { url: "postgres://app:hunter2@db/prod", password: "pw", pool: 4 },
        note: "send Bearer abc.def to the API",
        big: "x".repeat(5_000),
        count: 10n,
      },
      async onStart(s) {
        await s.adopt(new Service("disk-checker", { initialData: { free: 42 } }));
      },
    }),
  );
  await monitor.start();
  cleanups.push(() => registry.stop());
  const server = serveStatus({ registry });
  cleanups.push(() => server.stop());
  return { registry, monitor, server };
}

const get = (server: StatusServer, path: string) => fetch(new URL(path, server.url));

/** The events of an open `/events` stream, as they arrive. */
async function openEvents(server: StatusServer) {
  const res = await get(server, "/events");
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: { event: string; data: Record<string, unknown> }[] = [];
  let buffer = "";
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    }
  })();
  cleanups.push(async () => {
    await reader.cancel();
    await pump.catch(() => {});
  });
  await waitFor(() => events.some((e) => e.event === "hello"));
  return events;
}

describe("service data on the wire", () => {
  test("/status shows each service's data, secrets masked and long values cut", async () => {
    const { server } = await setup();
    const body = (await (await get(server, "/status")).json()) as { services: ServiceStatus[] };
    const data = body.services[0]?.data as Record<string, unknown>;
    expect(data.hdmi).toBe("connected");
    expect(data.apiToken).toBe("***");
    expect(data.db).toEqual({ url: "postgres://app:***@db/prod", password: "***", pool: 4 });
    expect(data.note).toBe("send Bearer *** to the API");
    expect(data.count).toBe("10");
    expect(typeof data.big).toBe("string");
    expect((data.big as string).length).toBeLessThanOrEqual(MAX_DATA_VALUE_CHARS + 40);
    expect(data.big as string).toMatch(/… \(\d+ more characters\)$/);
    expect(JSON.stringify(body)).not.toContain("hunter2");
    expect(JSON.stringify(body)).not.toContain("tok-123");
    expect(body.services[0]?.children[0]?.data).toEqual({ free: 42 });
  });

  test("setData publishes a data event with the changed keys only, masked", async () => {
    const { server, monitor } = await setup();
    const events = await openEvents(server);
    monitor.setData({ hdmi: "disconnected", apiToken: "tok-456", count: 10n });
    monitor.setData({ hdmi: "disconnected" }); // nothing changed: no event
    monitor.setData({ queue: 3 });
    await waitFor(() => events.filter((e) => e.event === "data").length >= 2);
    const data = events.filter((e) => e.event === "data").map((e) => e.data);
    for (const d of data) ActivityEvent.parse(d);
    // count (a bigint equal by value but a new primitive) is the same value: Object.is says so.
    expect(data.map((d) => [d.service, d.changed])).toEqual([
      ["monitor", { hdmi: "disconnected", apiToken: "***" }],
      ["monitor", { queue: 3 }],
    ]);
  });

  test("a child service's data changes reach /events under its path", async () => {
    const { server, monitor } = await setup();
    const events = await openEvents(server);
    const child = monitor.ownedChildren()[0] as Service<{ data: { free: number } }>;
    child.setData({ free: 41 });
    await waitFor(() => events.some((e) => e.event === "data"));
    expect(events.find((e) => e.event === "data")?.data).toMatchObject({
      service: "monitor/disk-checker",
      changed: { free: 41 },
    });
  });

  test("/status/<path> addresses a child service; an unknown one is a 404 that lists the children", async () => {
    const { server } = await setup();
    const child = await get(server, "/status/monitor/disk-checker");
    expect(child.status).toBe(200);
    const status = ServiceStatus.parse(await child.json());
    expect(status.name).toBe("disk-checker");
    expect(status.data).toEqual({ free: 42 });
    expect((await get(server, "/status/monitor/disk-checker/")).status).toBe(200);
    const missing = await get(server, "/status/monitor/nope");
    expect(missing.status).toBe(404);
    expect(ErrorResponse.parse(await missing.json()).error).toBe(
      'service "monitor" has no child named "nope"; its children: "disk-checker"',
    );
    const malformed = await get(server, "/status/monitor/%E0%A4%A");
    expect(malformed.status).toBe(404);
    expect(ErrorResponse.parse(await malformed.json()).error).toContain("has no child named");
    const top = await get(server, "/status/elsewhere");
    expect(top.status).toBe(404);
    expect(ErrorResponse.parse(await top.json()).error).toContain('no service named "elsewhere"');
  });
});

describe("maskData", () => {
  test("masks secret-looking keys at any depth and survives values JSON cannot carry", () => {
    const cycle: Record<string, unknown> = { name: "loop" };
    cycle.self = cycle;
    expect(
      maskData({
        nested: { deeper: { sessionCookie: "c", list: [{ secret: 1 }, "ok"] } },
        fn: () => 1,
        when: new Date(0),
        cycle,
        missing: undefined,
        nan: Number.NaN,
      }),
    ).toEqual({
      nested: { deeper: { sessionCookie: "***", list: [{ secret: "***" }, "ok"] } },
      fn: "[function]",
      when: "1970-01-01T00:00:00.000Z",
      cycle: { name: "loop", self: "[circular]" },
      missing: null,
      nan: "NaN",
    });
  });
});
