/**
 * What `/events` and the page show of values that come from a service's own code: watcher values
 * and emitted events are masked as a service's data is, and no `data:` line of `/events` is longer
 * than `maxEventBytes`, whatever masking or long names do to it. Real HTTP on 127.0.0.1.
 */
import { describe, expect, test } from "bun:test";
import { waitFor } from "@specter/core/testing";
import { Watcher } from "@specter/watcher";
import { ActivityEvent, Registry, Service, type StatusServer, serveStatus } from "../src/index.ts";
import { cleanupAfterEach } from "./cleanups.ts";
import { followEvents } from "./sse-clients.ts";

const S = "S3CR3T";

const cleanups = cleanupAfterEach();

/** Follows `/events` until the test ends. */
async function follow(server: StatusServer) {
  const { frames, close } = await followEvents(new URL("/events", server.url));
  cleanups.push(close);
  return frames;
}

async function setup(
  watchers: Record<string, unknown>,
  options: Parameters<typeof serveStatus>[0] = {},
) {
  const registry = new Registry();
  const svc = registry.register(
    new Service("app", {
      onStart(s) {
        for (const [name, value] of Object.entries(watchers))
          s.own(new Watcher(name, { poll: () => value, interval: "20ms" })).start();
      },
    }),
  );
  await svc.start();
  cleanups.push(() => registry.stop());
  const server = serveStatus({ registry, ...options });
  cleanups.push(() => server.stop());
  return { svc, server };
}

describe("/events and the page mask what a service's code hands them", () => {
  const values = {
    creds: { user: "app", password: S, db: { apiKey: S, port: 5432 }, list: [{ token: S }] },
    url: `postgres://app:${S}@db:5432/app`,
    header: `Authorization: Bearer ${S}`,
    query: `https://api.example.com/x?page=2&api_key=${S}`,
  };

  test("watcher values and emitted events on /events: secret keys and secrets in strings", async () => {
    const { svc, server } = await setup(values);
    const frames = await follow(server);
    const lastOf = (name: string) =>
      frames.find((f) => f.event === "watcher-value" && f.data.watcher === name)?.data.value;
    await waitFor(() => Object.keys(values).every((name) => lastOf(name) !== undefined), {
      message: "a value of every watcher",
    });
    svc.emit("login", { user: "ann", token: S, note: `curl -u ann:${S}` });
    await waitFor(() => frames.some((f) => f.event === "event"), { message: "the event" });

    expect(lastOf("creds")).toEqual({
      user: "app",
      password: "***",
      db: { apiKey: "***", port: 5432 },
      list: [{ token: "***" }],
    });
    expect(lastOf("url")).toBe("postgres://app:***@db:5432/app");
    expect(lastOf("header")).toBe("Authorization: Bearer ***");
    expect(lastOf("query")).toBe("https://api.example.com/x?page=2&api_key=***");
    const event = frames.find((f) => f.event === "event")?.data;
    expect(event?.data).toEqual({ user: "ann", token: "***", note: "curl -u ann:***" });
    ActivityEvent.parse(event);
    expect(frames.some((f) => f.line.includes(S))).toBe(false);
  });

  test("the page shows the same masked last values", async () => {
    const { svc, server } = await setup(values);
    await waitFor(() => svc.health().watchers.every((w) => w.delivered > 0));
    const page = await (await fetch(server.url)).text();
    expect(page).not.toContain(S);
    expect(page).toContain("postgres://app:***@db:5432/app");
    expect(page).toContain("&quot;password&quot;:&quot;***&quot;");
  });
});

describe("no data: line is longer than maxEventBytes", () => {
  test("a value that masking makes longer than maxEventBytes is sent as the marker", async () => {
    // 60 keys `k<i>_token: 1`: 1,020 bytes or so as they are, each 4 bytes longer masked ("***").
    const value: Record<string, number> = {};
    for (let i = 0; i < 60; i++) value[`k${String(i).padStart(2, "0")}_token`] = 1;
    const prefix = '{"type":"watcher-value","service":"app","watcher":"grows","value":';
    const raw = `${prefix}${JSON.stringify(value)},"at":1700000000000}`.length;
    expect(raw).toBeLessThan(1024);
    const { server } = await setup({ grows: value }, { maxEventBytes: 1024 });
    const frames = await follow(server);
    await waitFor(() => frames.some((f) => f.event === "watcher-value"), { message: "a value" });
    const frame = frames.find((f) => f.event === "watcher-value");
    expect(String(frame?.data.value)).toMatch(
      /^\[too large: \d+ bytes of JSON, over maxEventBytes \(1024\)\]$/,
    );
    expect(Buffer.byteLength(frame?.line ?? "")).toBeLessThanOrEqual(1024);
    expect(frame?.line).not.toContain("_token");
  });

  test("an event whose name alone is too long is sent as type, service, time and marker", async () => {
    const { svc, server } = await setup({}, { maxEventBytes: 1024 });
    const frames = await follow(server);
    svc.emit("e".repeat(5000), { token: S });
    svc.emit("small", "fits");
    await waitFor(() => frames.filter((f) => f.event === "event").length === 2);
    const [long, small] = frames.filter((f) => f.event === "event");
    expect(Object.keys(long?.data ?? {})).toEqual(["type", "service", "at", "tooLarge"]);
    expect(String(long?.data.tooLarge)).toMatch(/^\[too large: \d+ bytes of JSON/);
    expect(small?.data.data).toBe("fits");
    for (const f of frames) expect(Buffer.byteLength(f.line)).toBeLessThanOrEqual(1024);
  });
});
