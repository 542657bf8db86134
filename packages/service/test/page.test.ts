import { afterEach, describe, expect, test } from "bun:test";
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
} from "../src/status/page/format.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

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
