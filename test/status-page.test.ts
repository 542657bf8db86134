/**
 * The status page in a real browser: Debian's headless Chromium, driven by playwright-core. A
 * service's watcher counts up every 100 ms; the page, opened with `?token=`, must show newer
 * values without a reload, fit a phone's width, and read without JavaScript. The screenshots are
 * saved to the paths the test prints.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry, Service, type StatusServer, serveStatus } from "@specter/service";
import { Watcher } from "@specter/watcher";
import { type Browser, chromium, type Page } from "playwright-core";

const CHROMIUM = Bun.which("chromium") ?? "/usr/bin/chromium";
const TOKEN = "page-test-token";
const SCREENSHOT = join(tmpdir(), "specter-status-page.png");
const PHONE_SCREENSHOT = join(tmpdir(), "specter-status-page-phone.png");
const COUNTER = `li[data-k='["w","monitor","counter"]'] [data-f="value"]`;
const WAIT = { timeout: 10_000 };

// Functions given to page.evaluate run in the browser, whose globals the type check (no DOM
// library) does not know: what they use, declared here for this file only.
declare const document: {
  getElementById(id: string): { textContent: string | null } | null;
  querySelector(selector: string): { textContent: string | null } | null;
  documentElement: { scrollWidth: number; clientWidth: number };
};
declare const window: { innerWidth: number; specterMarker?: boolean };

let registry: Registry | undefined;
let server: StatusServer | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  // Fail, not skip: the page is only proven in a browser.
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing (looked for ${CHROMIUM}): run \`bash .ci/run\`, which installs Debian's chromium`,
    );
  }
  registry = new Registry();
  let n = 0;
  const monitor = registry.register(
    new Service<{ events: { tick: { n: number } } }>("monitor", {
      onStart(s) {
        s.own(new Watcher("counter", { poll: () => ++n, interval: "100ms" })).start();
        s.own(
          new Watcher("load", {
            poll: () => Bun.file("/proc/loadavg").text(),
            interval: "500ms",
            dedupe: true,
          }),
        ).start();
        s.own(
          new Watcher("hostile", { poll: () => "<script>alert(1)</script>", interval: "1h" }),
        ).start();
        s.startProcess(["sh", "-c", "sleep 60"], { name: "worker", terminateTimeout: "2s" });
        // Exits every 0.6 s and is restarted: the event list has something to show.
        s.startProcess(["sh", "-c", "sleep 0.6; exit 3"], {
          name: "flaky",
          terminateTimeout: "2s",
          restart: { policy: "on-failure", maxRestarts: 100, initialBackoff: 200, maxBackoff: 400 },
        });
        s.interval(() => s.emit("tick", { n }), "1s");
      },
    }),
  );
  await monitor.start();
  await monitor.adopt(
    new Service("disk-checker", {
      onStart(s) {
        s.own(
          new Watcher("free", { poll: () => ({ freeGiB: 41.7, mount: "/" }), interval: "1s" }),
        ).start();
      },
    }),
  );
  server = serveStatus({ registry, token: TOKEN });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await registry?.stop();
});

/** Opens the page with the token in its address, and waits until its event stream is open. */
async function open(page: Page): Promise<void> {
  await page.goto(`${server?.url}?token=${TOKEN}`);
  await page.waitForFunction(() => document.getElementById("conn")?.textContent === "live", WAIT);
}

test("the status page shows a changing value live, without a reload", async () => {
  const context = await (browser as Browser).newContext({ viewport: { width: 1100, height: 900 } });
  try {
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    let navigations = 0;
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });
    await open(page);
    expect(navigations).toBe(1);

    const first = Number(await page.textContent(COUNTER));
    expect(first).toBeGreaterThan(0);
    // A marker a reload would wipe out.
    await page.evaluate(() => {
      window.specterMarker = true;
    });
    await page.waitForFunction(
      ([selector, before]) => Number(document.querySelector(selector)?.textContent) > before + 3,
      [COUNTER, first] as const,
      WAIT,
    );
    const later = Number(await page.textContent(COUNTER));
    console.log(`status page: counter went from ${first} to ${later} without a reload`);
    expect(await page.evaluate(() => window.specterMarker)).toBe(true);
    expect(navigations).toBe(1);

    // Values from services are text: the hostile one shows as written and runs nothing.
    const hostile = `li[data-k='["w","monitor","hostile"]'] [data-f="value"]`;
    expect(await page.textContent(hostile)).toBe("<script>alert(1)</script>");
    expect(dialogs).toEqual([]);

    // The event list fills from the stream; the restarting process is in it.
    await page
      .locator("#events li .what", { hasText: 'process "flaky" exited: code 3' })
      .first()
      .waitFor(WAIT);
    // Relative times are kept counting.
    expect(await page.textContent(`li[data-k='["w","monitor","counter"]'] time`)).toMatch(
      /^(just now|\d s ago)$/,
    );
    // The process shows its pid and uptime; the child service sits in its parent's card.
    const worker = `li[data-k='["p","monitor","worker"]']`;
    expect(await page.textContent(`${worker} [data-f="pid"]`)).toMatch(/^\d+$/);
    expect(await page.textContent(`${worker} .meta`)).toMatch(/up \d+ (ms|s)/);
    expect(await page.locator(".svc .svc h2").textContent()).toBe("disk-checker");
    expect(
      await page.textContent(`li[data-k='["p","monitor","flaky"]'] [data-f="restarts"]`),
    ).toMatch(/^\d+ restarts?$/);

    // A service registered after the page opened shows up in it, still without a reload.
    const late = (registry as Registry).register(new Service("late-comer"));
    await late.start();
    await page.locator(".svc-head h2", { hasText: "late-comer" }).waitFor(WAIT);
    expect(await page.textContent(".summary")).toBe("2 services · all healthy");
    expect(navigations).toBe(1);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`status page screenshot: ${SCREENSHOT}`);
  } finally {
    await context.close();
  }
}, 30_000);

test("on a phone-width screen the page has no horizontal scroll", async () => {
  const context = await (browser as Browser).newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  try {
    const page = await context.newPage();
    await open(page);
    await page.locator("#events li:not(.empty)").first().waitFor(WAIT);
    const size = await page.evaluate(() => ({
      inner: window.innerWidth,
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }));
    // 390 CSS pixels wide: the viewport meta is honoured, and nothing sticks out.
    expect(size).toEqual({ inner: 390, scroll: 390, client: 390 });
    await page.screenshot({ path: PHONE_SCREENSHOT, fullPage: true });
    console.log(`status page phone screenshot: ${PHONE_SCREENSHOT}`);
  } finally {
    await context.close();
  }
}, 30_000);

test("without JavaScript the page is still readable", async () => {
  const context = await (browser as Browser).newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    await page.goto(`${server?.url}?token=${TOKEN}`);
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a reader sees
    const text = await page.locator("main").innerText();
    expect(text).toContain("monitor");
    expect(text).toContain("disk-checker");
    expect(text).toMatch(/counter\s+running\s+\d+/);
    expect(text).toContain("sh -c sleep 60");
    expect(await page.textContent("#conn")).toBe("not live");
  } finally {
    await context.close();
  }
}, 30_000);
