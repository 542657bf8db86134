/**
 * Error messages on the status endpoint are masked as a service's data is: a watcher's, a
 * process's and a service's `lastError`, the `/healthz` reasons built from them, the page, and
 * `error` events on `/events`. Real HTTP on 127.0.0.1.
 */
import { describe, expect, test } from "bun:test";
import { ActivityEvent, Registry, Service, StatusResponse, serveStatus } from "../src/index.ts";
import { maskNote } from "../src/status/mask-errors.ts";
import { cleanupAfterEach } from "./cleanups.ts";
import { ERROR_SECRETS, everyRoute, leaks, READABLE, secretErrors } from "./error-secrets.ts";

const cleanups = cleanupAfterEach();

async function scenario() {
  const s = await secretErrors();
  cleanups.push(s.stop);
  return s;
}

describe("error messages with secrets", () => {
  test("no route shows a secret of an error message", async () => {
    const routes = await everyRoute(await scenario());
    expect(Object.keys(routes)).toEqual([
      "/status",
      "/status/app",
      "/status/db",
      "/healthz",
      "/",
      "/events",
    ]);
    for (const text of Object.values(routes)) expect(text).toContain("***");
    expect(leaks(routes)).toEqual([]);
  }, 15_000);

  test("/status: each lastError masked, the rest of the message readable", async () => {
    const s = await scenario();
    const body = StatusResponse.parse(await (await fetch(new URL("/status", s.server.url))).json());
    const [app, db] = body.services;
    const messages = {
      service: app?.lastError?.message ?? "",
      watcher: app?.watchers[0]?.lastError?.message ?? "",
      process: app?.processes[0]?.lastError?.message ?? "",
      onStart: db?.lastError?.message ?? "",
    };
    expect(messages.service).toContain("timer failed: GET https://api.example.com");
    expect(messages.watcher).toContain("watcher poll failed:");
    expect(messages.process).toContain("line callback failed:");
    expect(messages.onStart).toContain("onStart failed: connect failed:");
    for (const message of Object.values(messages)) {
      for (const part of READABLE) expect(message).toContain(part);
      for (const secret of ERROR_SECRETS) expect(message).not.toContain(secret);
    }
    // The watcher failed for good (retry: false): its reason quotes the masked message.
    const reason = app?.reasons.find((r) => r.includes('watcher "api" failed')) ?? "";
    expect(reason).toContain("postgres://u:***@h/db");
  }, 15_000);

  test("/healthz and the page quote the masked messages", async () => {
    const s = await scenario();
    const healthz = (await (await fetch(new URL("/healthz", s.server.url))).json()) as {
      reasons: string[];
    };
    expect(healthz.reasons.join("\n")).toContain("api_key=***");
    const page = await (await fetch(s.server.url)).text();
    expect(page).toContain("postgres://u:***@h/db");
    expect(page).toContain("api_key=***");
  }, 15_000);

  test("/events: error events carry the masked message", async () => {
    const s = await scenario();
    const errors = s.frames
      .filter((f) => f.event === "error")
      .map((f) => ActivityEvent.parse(f.data));
    const onStart = errors.find((e) => e.service === "db");
    expect(String(onStart?.message)).toContain("onStart failed: connect failed:");
    for (const e of errors) {
      for (const part of READABLE) expect(String(e.message)).toContain(part);
    }
  }, 15_000);
});

test("an internal error's message (a health() that throws) is masked too", async () => {
  class Broken extends Service {
    override health(): never {
      throw new Error("health failed reading postgres://u:S3CR3T_F@h/db");
    }
  }
  const registry = new Registry();
  registry.register(new Broken("broken"));
  const server = serveStatus({ registry });
  cleanups.push(() => server.stop());
  const res = await fetch(new URL("/status", server.url));
  expect(res.status).toBe(500);
  expect(await res.json()).toEqual({
    error: "internal error: health failed reading postgres://u:***@h/db",
  });
});

test("a message is masked once per error, and each new error anew", () => {
  const first = { message: "GET /x?token=S3CR3T_E", phase: "poll", at: 1 };
  const masked = maskNote(first, "message");
  expect(masked).toEqual({ message: "GET /x?token=***", phase: "poll", at: 1 });
  expect(maskNote(first, "message")).toBe(masked as typeof first);
  const next = { reason: "worker exited; sent Authorization: bearer S3CR3T_G", at: 2 };
  expect(maskNote(next, "reason")?.reason).toBe("worker exited; sent Authorization: bearer ***");
  expect(maskNote<{ message: string }, "message">(null, "message")).toBeNull();
});
