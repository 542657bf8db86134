import { expect, test } from "bun:test";
import type { Activity, ServiceHealth } from "@specter/service";
import { fit, renderFrame, since } from "../src/frame.ts";
import { createView } from "../src/view.ts";

const NOW = Date.parse("2030-01-01T12:00:00Z");

/** Only the fields the frame reads; the rest of a real health does not matter here. */
function health(name: string, extra: Partial<Record<string, unknown>> = {}): ServiceHealth {
  return {
    name,
    state: "running",
    uptime: 65_000,
    errorCount: 0,
    lastError: null,
    watchers: [],
    processes: [],
    children: [],
    ...extra,
  } as unknown as ServiceHealth;
}

function child(extra: Partial<Record<string, unknown>>) {
  return { name: "child", pid: 4242, state: "running", restarts: 2, uptime: 3_500, ...extra };
}

function frameOf(services: ServiceHealth[], activities: Activity[], columns = 80, rows = 24) {
  const view = createView("screen", () => {
    throw new Error("the screen view prints nothing");
  });
  for (const a of activities) view.show(a);
  const input = { url: "http://127.0.0.1:4777/", now: NOW, startedAt: NOW - 12_000, view };
  return renderFrame({ ...input, durationMs: 30_000, services }, columns, rows);
}

const value = (watcher: string, v: unknown, ago = 1_000): Activity => ({
  type: "watcher-value",
  service: watcher === "log-tail" ? "logs" : "monitor",
  watcher,
  value: v,
  at: NOW - ago,
});

test("a frame fits 80x24: long values are cut, the ages stay at the right edge", () => {
  const long = `GET /status/${"x".repeat(200)} 404 3ms`;
  const events = Array.from({ length: 40 }, (_, i) =>
    value("log-tail", `GET /healthz 200 ${i}ms`, 40_000 - i * 100),
  );
  const lines = frameOf(
    [
      health("monitor", { watchers: [{ name: "load", state: "running" }] }),
      health("logs", { watchers: [{ name: "log-tail", state: "running" }] }),
      health("supervisor", { processes: [child({})] }),
    ],
    [...events, value("load", 0.42, 2_000), value("log-tail", long)],
  );
  expect(lines.length).toBe(24);
  for (const line of lines) expect(Bun.stringWidth(line)).toBeLessThanOrEqual(80);
  expect(lines[0]).toBe("Specter demo · up 12s of 30s · Ctrl-C stops");
  expect(lines[1]).toBe("status http://127.0.0.1:4777/ · /status /events /metrics /healthz");
  expect(lines).toContain(`monitor       running    up 1m 05s`);
  expect(lines.find((l) => l.startsWith("  load "))).toMatch(/^ {2}load +0\.42 .* 2s ago$/);
  const tail = lines.find((l) => l.startsWith("  log-tail ")) as string;
  expect(tail).toMatch(/^ {2}log-tail +GET \/status\/x+… 1s ago$/);
  expect(Bun.stringWidth(tail)).toBe(80);
  expect(lines).toContain("logs          running    up 1m 05s  41 log lines followed, 0 rotations");
  // The most recent events fill the rows left; the machine readings are not among them.
  expect(lines.at(-1)).toContain(`GET /status/xxx`);
  expect(lines.at(-2)).toEndWith("log        GET /healthz 200 39ms");
  expect(lines.filter((l) => /^\d\d:\d\d:\d\d {2}load/.test(l))).toEqual([]);
});

test("a rotation of the log is counted and shown among the events", () => {
  const rotated: Activity = {
    type: "event",
    service: "logs",
    event: "rotated",
    data: { from: "app.log", to: "app.log.1" },
    at: NOW - 500,
  };
  const lines = frameOf(
    [health("logs", { watchers: [{ name: "log-tail", state: "running" }] })],
    [value("log-tail", "GET / 200 1ms", 900), rotated, value("log-tail", "GET / 200 2ms", 100)],
  );
  expect(lines).toContain("logs          running    up 1m 05s  2 log lines followed, 1 rotation");
  expect(lines.at(-2)).toEndWith("log        (rotated to app.log.1: following the new app.log)");
});

test("the child's pid, uptime, restarts, CPU and memory; '–' when not there", () => {
  const usage = { processes: 1, cpuSeconds: 1.5, residentMemoryBytes: 12 * 1048576 };
  const row = (p: Record<string, unknown>) =>
    frameOf([health("supervisor", { processes: [child(p)] })], []).find((l) =>
      l.startsWith("  child"),
    );
  expect(row({ usage })).toBe(
    "  child       pid 4242  running  up 3s  restarts 2  cpu 1.50s  mem 12.0 MiB",
  );
  // Health without usage (an older @specter/process), or null usage (no /proc), is still shown.
  expect(row({})).toEndWith("cpu –  mem –");
  expect(row({ usage: null })).toEndWith("cpu –  mem –");
  expect(row({ pid: null, uptime: 0, state: "restarting" })).toStartWith(
    "  child       pid –  restarting  up –  restarts 2",
  );
});

test("output from the child cannot move the cursor: control characters show as '?'", () => {
  const lines = frameOf(
    [health("supervisor", { processes: [child({})] })],
    [
      {
        type: "event",
        service: "supervisor",
        event: "line",
        data: { stream: "stderr", text: "evil \x1b[2J\x07bell" },
        at: NOW,
      },
    ],
  );
  expect(lines).toContain("              stderr evil ?[2J?bell");
  expect(lines.join("")).not.toContain("\x1b");
});

test("a log line cannot turn the screen right to left: bidi overrides and isolates show as '?'", () => {
  const lines = frameOf(
    [health("logs", { watchers: [{ name: "log-tail", state: "running" }] })],
    [value("log-tail", "GET /\u202Etxt.exe\u2066x\u2069 404 1ms")],
  );
  expect(lines.at(-1)).toEndWith("log        GET /?txt.exe?x? 404 1ms");
  expect(lines.join("")).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
});

test("fit cuts by terminal columns, wide characters counting twice", () => {
  expect(fit("short", 10)).toBe("short");
  expect(fit("abcdefghij", 5)).toBe("abcd…");
  expect(fit("日本語のテキスト", 7)).toBe("日本語…");
  expect(since(59_999)).toBe("59s");
  expect(since(3_599_000)).toBe("59m 59s");
  expect(since(7_380_000)).toBe("2h 03m");
});
