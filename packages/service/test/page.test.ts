import { describe, expect, test } from "bun:test";
import { waitFor } from "@specter/core/testing";
import { Watcher } from "@specter/watcher";
import { Hono } from "hono";
import {
  createStatusApp,
  Registry,
  Service,
  type StatusServer,
  serveStatus,
} from "../src/index.ts";
import {
  describeActivity,
  formatAgo,
  formatBytes,
  formatCpu,
  formatSpan,
  formatValue,
  printable,
} from "../src/status/page/format.ts";
import { key } from "../src/status/page/render.ts";
import { cleanupAfterEach } from "./cleanups.ts";

const cleanups = cleanupAfterEach();

const XSS = "<script>alert(1)</script>";

async function setup(options: { token?: string } = {}) {
  const registry = new Registry();
  let n = 0;
  const monitor = registry.register(
    new Service("monitor", {
      onStart(s) {
        s.own(new Watcher("counter", { poll: () => ++n, interval: "10ms" })).start();
        s.own(new Watcher("hostile", { poll: () => XSS, interval: "1h" })).start();
        s.own(new Watcher("long", { poll: () => ({ text: "x".repeat(500) }), interval: "1h" }));
        s.startProcess(["sh", "-c", "sleep 30", "sh", "--token", "hunter2"], { name: "sleeper" });
      },
    }),
  );
  await monitor.start();
  cleanups.push(() => registry.stop());
  const disk = await monitor.adopt(
    new Service("disk-checker", {
      onStart(s) {
        s.own(new Watcher('<img src=x onerror="alert(2)">', { poll: () => 1, interval: "1h" }));
      },
    }),
  );
  const server = serveStatus({ registry, ...options });
  cleanups.push(() => server.stop());
  await waitFor(() => monitor.health().watchers.every((w) => w.name === "long" || w.delivered));
  return { registry, monitor, disk, server };
}

const get = (server: StatusServer, path: string, init?: RequestInit) =>
  fetch(new URL(path, server.url), init);

/** The text of every element of `tag` (regex-level: enough for the page's own flat markup). */
function tags(page: string, tag: string): string[] {
  return [...page.matchAll(new RegExp(`<${tag}\\b[^>]*>([\\s\\S]*?)</${tag}>`, "g"))].map(
    (m) => m[1] as string,
  );
}

/** Every element of the page, parsed by Bun's HTMLRewriter. */
async function elements(page: string): Promise<{ tag: string; attrs: Record<string, string> }[]> {
  const found: { tag: string; attrs: Record<string, string> }[] = [];
  await new HTMLRewriter()
    .on("*", {
      element(el) {
        found.push({ tag: el.tagName, attrs: Object.fromEntries(el.attributes) });
      },
    })
    .transform(new Response(page))
    .text();
  return found;
}

describe("GET / (status page)", () => {
  test("is an HTML page with every service, its watchers, processes and nested children", async () => {
    const { server, monitor } = await setup();
    const res = await get(server, "/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html; charset=utf-8/i);
    const page = await res.text();
    expect(page.startsWith("<!doctype html>")).toBe(true);
    expect(page).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(tags(page, "title")).toEqual(["Specter status"]);
    expect(tags(page, "h2")).toEqual(["monitor", "disk-checker", "Last events"]);
    // The child's section sits inside its parent's.
    const parent = page.indexOf('<section class="svc">');
    const child = page.indexOf('<section class="svc">', parent + 1);
    const parentEnd = page.lastIndexOf("</section>", page.indexOf('<section id="activity">'));
    expect(parent).toBeGreaterThan(0);
    expect(child).toBeGreaterThan(parent);
    expect(child).toBeLessThan(parentEnd);
    expect(page).toContain("1 service · all healthy");
    // Watchers with state, last value and a relative time.
    expect(tags(page, "span").filter((t) => t === "counter")).toHaveLength(1);
    expect(page).toMatch(/<time data-f="at" data-at="\d+">(just now|\d+ s ago)<\/time>/);
    expect(page).toContain('<time data-f="at">no value yet</time>');
    // Processes with pid, uptime, restarts and a masked command line.
    const pid = monitor.ownedProcesses()[0]?.pid;
    expect(pid).toBeGreaterThan(0);
    expect(page).toContain(`pid <span data-f="pid">${pid}</span>`);
    expect(page).toMatch(/up <span data-since="\d+">\d+ (ms|s)<\/span>/);
    expect(page).toContain('<span data-f="restarts">0 restarts</span>');
    expect(page).toContain("sh -c sleep 30 sh --token ***");
    expect(page).not.toContain("hunter2");
    // The event list is there, to be filled live.
    expect(page).toContain('<ol id="events">');
  });

  test("needs nothing from elsewhere: inline style and script under a nonce CSP", async () => {
    const { server } = await setup();
    const res = await get(server, "/");
    const page = await res.text();
    const csp = res.headers.get("content-security-policy") ?? "";
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(page).toContain(`<style nonce="${nonce}">`);
    expect(page).toContain(`<script nonce="${nonce}">`);
    // Parsed as a browser would: no element loads anything from anywhere.
    const els = await elements(page);
    expect(els.filter((e) => e.attrs.src !== undefined)).toEqual([]);
    expect(els.filter((e) => e.tag === "link").map((e) => e.attrs.href)).toEqual(["data:,"]);
    expect(els.filter((e) => e.tag === "script" || e.tag === "style")).toHaveLength(2);
    expect(page).not.toMatch(/https?:\/\//);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    // The script compiles, and reaches /events relative to the page.
    const script = tags(page, "script")[0] as string;
    expect(() => new Function(script)).not.toThrow();
    expect(script).toContain('new EventSource(base + "events"');
    expect(page).toContain('data-base="/"');
  });

  test("what services give is shown as text, never as markup", async () => {
    const { server } = await setup();
    const page = await (await get(server, "/")).text();
    expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(page).not.toContain(XSS);
    expect(page).toContain("&lt;img src=x onerror=&quot;alert(2)&quot;&gt;");
    const els = await elements(page);
    expect(els.filter((e) => e.tag === "script")).toHaveLength(1);
    expect(els.filter((e) => e.tag === "img")).toEqual([]);
    expect(els.filter((e) => Object.keys(e.attrs).some((a) => a.startsWith("on")))).toEqual([]);
  });

  test("values are cut to about 120 characters; the tooltip holds more", async () => {
    const { server, monitor } = await setup();
    const long = monitor.ownedWatchers().find((w) => w.name === "long");
    long?.start();
    await waitFor(() => long?.health().delivered);
    const page = await (await get(server, "/")).text();
    const shown = tags(page, "span").find((t) => t.startsWith("{&quot;text&quot;:&quot;xxx"));
    expect(shown).toBeDefined();
    const text = (shown as string).replaceAll("&quot;", '"');
    expect(text).toHaveLength(120);
    expect(text.endsWith("…")).toBe(true);
  });

  test("with a token: 401 without it, the page with ?token=, and the token never in the page", async () => {
    const { server } = await setup({ token: "s3cret-T" });
    const denied = await get(server, "/");
    expect(denied.status).toBe(401);
    expect(denied.headers.get("www-authenticate")).toBe("Bearer");
    expect((await get(server, "/?token=wrong")).status).toBe(401);
    const byQuery = await get(server, "/?token=s3cret-T");
    expect(byQuery.status).toBe(200);
    const page = await byQuery.text();
    expect(page).toContain("<h2>monitor</h2>");
    expect(page).toContain('data-auth="token"');
    expect(page).not.toContain("s3cret-T");
    const byHeader = await get(server, "/", { headers: { authorization: "Bearer s3cret-T" } });
    expect(byHeader.status).toBe(200);
    expect(await byHeader.text()).not.toContain("s3cret-T");
    // The stream the page opens accepts the same ?token=.
    const events = await get(server, "/events?token=s3cret-T");
    expect(events.status).toBe(200);
    await events.body?.cancel();
  });

  test("without a token the page does not ask for one", async () => {
    const { server } = await setup();
    const page = await (await get(server, "/")).text();
    expect(page).not.toContain("data-auth");
  });

  test("POST / is 405; HEAD / is answered", async () => {
    const { server } = await setup();
    const post = await get(server, "/", { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect(await post.json()).toEqual({ error: "method POST is not allowed on /; use GET" });
    const head = await get(server, "/", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toMatch(/^text\/html/);
  });

  test("an unhealthy service says why; a stopped one says so", async () => {
    const { server, disk } = await setup();
    await disk.stop();
    const page = await (await get(server, "/")).text();
    expect(page).toContain("1 service · 1 unhealthy");
    expect(page).toContain('<span class="badge bad">unhealthy</span>');
    expect(page).toContain("<li>monitor/disk-checker: service is stopped</li>");
  });

  test("watcher values of every type read the same on the page and on /events; control and bidi characters show as '?'", async () => {
    const registry = new Registry();
    const cycle: Record<string, unknown> = { name: "loop" };
    cycle.self = cycle;
    const values: Record<string, unknown> = {
      bigint: 12n,
      error: new RangeError("out of range"),
      map: new Map<unknown, unknown>([
        ["a", 1],
        [2, new Set(["x"])],
      ]),
      set: new Set([1, 2]),
      bytes: new Uint8Array([7, 8]),
      text: "bell\x07 esc\x1b[31m nul\0 rtl\u202Eevil\u2066",
      cycle,
      getter: {
        get broken() {
          throw new Error("no");
        },
      },
    };
    const svc = registry.register(
      new Service("svc", {
        onStart(s) {
          for (const [name, value] of Object.entries(values))
            s.own(new Watcher(name, { poll: () => value, interval: "20ms" })).start();
        },
      }),
    );
    await svc.start();
    cleanups.push(() => registry.stop());
    const server = serveStatus({ registry });
    cleanups.push(() => server.stop());
    await waitFor(() => svc.health().watchers.every((w) => w.delivered > 0));

    const page = await (await get(server, "/")).text();
    const shown = (name: string) => {
      const item = page.indexOf(`data-k="${key("w", "svc", name).replaceAll('"', "&quot;")}"`);
      const span = /<span class="value" data-f="value" title="[^"]*">([^<]*)<\/span>/.exec(
        page.slice(item),
      );
      return (span?.[1] ?? "").replaceAll("&quot;", '"');
    };
    const expected: Record<string, string> = {
      bigint: "12",
      error: "RangeError: out of range",
      map: '{"2":["x"],"a":1}',
      set: "[1,2]",
      bytes: "[7,8]",
      text: "bell? esc?[31m nul? rtl?evil?",
      cycle: "[not serialisable]",
      getter: "[not serialisable]",
    };
    for (const [name, text] of Object.entries(expected))
      expect([name, shown(name)]).toEqual([name, text]);

    // /events carries the same: formatted as the page's script does, it reads the same.
    const res = await get(server, "/events");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const live = new Map<string, string>();
    let buffer = "";
    await waitFor(
      async () => {
        buffer += decoder.decode((await reader.read()).value, { stream: true });
        for (const [, data] of buffer.matchAll(/^event: watcher-value\ndata: (.*)$/gm)) {
          const a = JSON.parse(data as string) as { watcher: string; value: unknown };
          live.set(a.watcher, formatValue(a.value));
        }
        return live.size === Object.keys(values).length;
      },
      { message: "a value of every watcher on /events" },
    );
    await reader.cancel();
    for (const [name, text] of Object.entries(expected))
      expect([name, live.get(name)]).toEqual([name, text]);
  });

  test("mounted under a prefix, the page finds /events beside it", async () => {
    const registry = new Registry();
    const outer = new Hono().route("/specter", createStatusApp({ registry }));
    const page = await (await outer.request("/specter")).text();
    expect(page).toContain('data-base="/specter/"');
    expect(page).toContain("No services registered.");
  });
});

describe("page formatting", () => {
  test("relative times and durations", () => {
    expect(formatAgo(300)).toBe("just now");
    expect(formatAgo(3_400)).toBe("3 s ago");
    expect(formatAgo(125_000)).toBe("2 min ago");
    expect(formatAgo(5 * 3_600_000 + 60_000)).toBe("5 h ago");
    expect(formatAgo(2 * 86_400_000)).toBe("2 d ago");
    expect(formatSpan(850)).toBe("850 ms");
    expect(formatSpan(12_300)).toBe("12 s");
    expect(formatSpan(184_000)).toBe("3 min 4 s");
    expect(formatSpan(7_200_000)).toBe("2 h");
    expect(formatSpan(3 * 86_400_000 + 4 * 3_600_000 + 5_000)).toBe("3 d 4 h");
  });

  test("values, sizes and CPU time", () => {
    expect(formatValue(undefined)).toBe("—");
    expect(printable("a\x1b[2Jb\x07\u009b\u202Ec\u2067d\te\nf")).toBe("a?[2Jb???c?d\te\nf");
    expect(formatValue("tab\there\u202Dltr")).toBe("tab here?ltr");
    expect(formatValue("0.42 0.30 0.25 1/123 4567\n")).toBe("0.42 0.30 0.25 1/123 4567");
    expect(formatValue({ a: 1, b: [true, null] })).toBe('{"a":1,"b":[true,null]}');
    expect(formatValue("y".repeat(200))).toHaveLength(120);
    expect(formatValue("y".repeat(200), 20)).toBe(`${"y".repeat(19)}…`);
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(3.4 * 1024)).toBe("3.4 KiB");
    expect(formatBytes(123 * 1024 * 1024)).toBe("123 MiB");
    expect(formatCpu(0.4234)).toBe("0.42 s");
    expect(formatCpu(200)).toBe("3 min 20 s");
  });

  test("events as one line", () => {
    const at = 0;
    expect(
      describeActivity("service", { service: "m", state: "running", previous: "starting", at }),
    ).toBe("service starting → running");
    expect(
      describeActivity("process-exit", {
        service: "m",
        process: "child",
        exit: { exitCode: 1, signalCode: null, stopped: false, killed: false },
        at,
      }),
    ).toBe('process "child" exited: code 1');
    expect(
      describeActivity("event", { service: "m", event: "alert", data: { level: 2 }, at }),
    ).toBe('event "alert" {"level":2}');
    expect(describeActivity("data", { service: "m", changed: { queue: 3 }, at })).toBe(
      'data {"changed":{"queue":3}}',
    );
  });
});
