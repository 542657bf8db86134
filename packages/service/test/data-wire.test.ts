/**
 * A service's data on the wire: `/status` shows it and `/events` carries each change, both masked
 * like command lines and bounded in size; `/status/<path>` addresses child services. Real HTTP on
 * 127.0.0.1.
 */
import { describe, expect, test } from "bun:test";
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
import { cleanupAfterEach } from "./cleanups.ts";
import { followEvents } from "./sse-clients.ts";

const cleanups = cleanupAfterEach();

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
  const { frames, close } = await followEvents(new URL("/events", server.url));
  cleanups.push(close);
  return frames;
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

describe("hostile data", () => {
  test("maskData never throws: a getter or proxy that throws makes only that value unreadable", () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const masked = maskData({
      getter: {
        ok: 1,
        get broken() {
          throw new Error("sensor gone");
        },
      },
      proxy: new Proxy(
        {},
        {
          ownKeys() {
            throw new Error("no keys");
          },
        },
      ),
      revoked: revoked.proxy,
      leaky: {
        get url() {
          throw new Error("cannot reach postgres://app:hunter2@db/prod");
        },
      },
      invalidDate: new Date(Number.NaN),
      fine: "still here",
    });
    expect(masked).toEqual({
      getter: { ok: 1, broken: "[unreadable: sensor gone]" },
      proxy: "[unreadable: no keys]",
      revoked: expect.stringMatching(/^\[unreadable: /),
      // The message is masked too.
      leaky: { url: "[unreadable: cannot reach postgres://app:***@db/prod]" },
      invalidDate: "Invalid Date",
      fine: "still here",
    });
  });

  test("maskData: keys like __proto__ stay data; errors, maps, sets, typed arrays and toJSON are readable; secret query parameters are masked", () => {
    const masked = maskData({
      ...JSON.parse('{"__proto__": {"token": "t", "shown": 1}}'),
      nested: JSON.parse('{"__proto__": {"password": "p"}}'),
      error: new TypeError("bad input"),
      map: new Map<unknown, unknown>([
        ["apiKey", "k"],
        [2, "two"],
      ]),
      set: new Set(["a", "b"]),
      bytes: new Uint8Array([1, 2, 3]),
      big: new BigInt64Array([5n]),
      view: new DataView(new ArrayBuffer(4)),
      url: "https://api.example/v1?page=2&access_token=hunter2",
      money: { amount: 5n, toJSON: () => ({ amount: "5.00", currency: "EUR", apiKey: "k" }) },
    });
    expect(Object.keys(masked)).toContain("__proto__");
    expect(Object.getPrototypeOf(masked)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(masked))).toEqual(
      JSON.parse(
        JSON.stringify({
          ["__proto__"]: { token: "***", shown: 1 },
          nested: JSON.parse('{"__proto__": {"password": "***"}}'),
          error: "TypeError: bad input",
          map: { apiKey: "***", 2: "two" },
          set: ["a", "b"],
          bytes: [1, 2, 3],
          big: ["5"],
          view: "[DataView of 4 bytes]",
          url: "https://api.example/v1?page=2&access_token=***",
          money: { amount: "5.00", currency: "EUR", apiKey: "***" },
        }),
      ),
    );
    expect(JSON.stringify(masked)).not.toContain("hunter2");
  });

  test("maskData: a huge string, array, map or typed array costs little and is cut, saying so", () => {
    const started = performance.now();
    const masked = maskData({
      text: "word ".repeat(4_000_000), // 20 MB: masking it word by word once took seconds
      list: new Array(2_000_000).fill("a b"),
      map: new Map(Array.from({ length: 200_000 }, (_, i) => [i, i])),
      samples: new Float64Array(10_000_000),
      report: { toJSON: () => "line\n".repeat(2_000_000) },
    });
    const ms = performance.now() - started;
    expect(ms).toBeLessThan(1_000);
    for (const value of Object.values(masked)) {
      expect(typeof value).toBe("string");
      expect((value as string).length).toBeLessThanOrEqual(MAX_DATA_VALUE_CHARS + 40);
    }
    // A string's length is known: how much was left out is exact.
    expect(masked.text).toMatch(/… \(\d+ more characters\)$/);
    const textLeft = Number(/\((\d+) more/.exec(masked.text as string)?.[1]);
    expect(textLeft).toBe(20_000_000 + 2 - (MAX_DATA_VALUE_CHARS - 40));
    // Items left out unseen: at least this much.
    expect(masked.list).toMatch(/… \(at least \d+ more characters\)$/);
    expect(masked.samples).toMatch(/^\[0,0,0/);
  });

  test("a service whose data cannot be read still has /status, /healthz, / and /events", async () => {
    const registry = new Registry();
    const sensor = registry.register(
      new Service<{ data: Record<string, unknown> }>("sensor", {
        initialData: {
          reading: {
            get value() {
              throw new Error("sensor gone");
            },
          },
          since: new Date(Number.NaN),
        },
      }),
    );
    await sensor.start();
    cleanups.push(() => registry.stop());
    const server = serveStatus({ registry });
    cleanups.push(() => server.stop());

    const status = await get(server, "/status/sensor");
    expect(status.status).toBe(200);
    expect(ServiceStatus.parse(await status.json()).data).toEqual({
      reading: { value: "[unreadable: sensor gone]" },
      since: "Invalid Date",
    });
    expect((await get(server, "/healthz")).status).toBe(200);
    const page = await get(server, "/");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("[unreadable: sensor gone]");

    const events = await openEvents(server);
    sensor.setData({
      reading: new Proxy(
        {},
        {
          ownKeys() {
            throw new Error("no keys");
          },
        },
      ),
    });
    sensor.setData({ after: 1 });
    const data = await waitFor(() => {
      const found = events.filter((e) => e.event === "data");
      return found.length >= 2 ? found : undefined;
    });
    // The stream stays open past the unreadable value and carries what came after it.
    expect(data.map((e) => e.data.changed)).toEqual([
      { reading: "[unreadable: no keys]" },
      { after: 1 },
    ]);
  });

  test("a data event is masked once, however many clients follow /events", async () => {
    const { server, monitor } = await setup();
    const clients = [await openEvents(server), await openEvents(server), await openEvents(server)];
    let reads = 0;
    monitor.setData({
      probe: {
        get level() {
          reads++;
          return 7;
        },
      },
    });
    for (const events of clients) await waitFor(() => events.some((e) => e.event === "data"));
    for (const events of clients) {
      expect(events.find((e) => e.event === "data")?.data.changed).toEqual({ probe: { level: 7 } });
    }
    expect(reads).toBe(1);
  });

  test("setData with a key such as __proto__ sends it as data", async () => {
    const { server, monitor } = await setup();
    const events = await openEvents(server);
    monitor.setData(JSON.parse('{"__proto__": {"mode": "eco"}}'));
    const event = await waitFor(() => events.find((e) => e.event === "data"));
    expect(Object.keys(event.data.changed as object)).toEqual(["__proto__"]);
    expect(JSON.stringify(event.data.changed)).toBe('{"__proto__":{"mode":"eco"}}');
  });
});
