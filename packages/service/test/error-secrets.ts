/**
 * A registry whose error messages carry secrets, as real ones do (a failed fetch with `?api_key=`
 * in its URL, a database URL with its password, an echoed `Authorization` header, a command line),
 * and a look at every route of the status endpoint for them. For the package tests and the fault
 * suite.
 */
import { waitFor } from "@specter/core/testing";
import { Watcher } from "@specter/watcher";
import { Registry, Service, type StatusServer, serveStatus } from "../src/index.ts";
import { followEvents, type SseFrame } from "./sse-clients.ts";

export const ERROR_SECRETS = ["S3CR3T_E", "S3CR3T_F", "S3CR3T_G", "S3CR3T_H"];

/** An error message with all four secrets; Bearer last, since a header's value runs to the end. */
export function secretMessage(what: string): string {
  return `${what} failed: GET https://api.example.com/v1?page=2&api_key=S3CR3T_E (via postgres://u:S3CR3T_F@h/db; argv tool --password=S3CR3T_H) with Authorization: Bearer S3CR3T_G`;
}

/** What each failing thing's message must still show once masked. */
export const READABLE = [
  "failed: GET https://api.example.com/v1?page=2&api_key=***",
  "postgres://u:***@h/db",
  "--password=***",
  "Authorization: Bearer ***",
];

export interface SecretErrors {
  registry: Registry;
  server: StatusServer;
  /** Every `/events` frame since before anything failed. */
  frames: SseFrame[];
  stop(): Promise<void>;
}

/**
 * Service "app": a watcher whose poll throws (with `retry: false`, so it fails and `/healthz`
 * gives the reason), a process whose line callback throws, and a timer that throws; service "db":
 * an `onStart` that throws. Each message is `secretMessage(<what>)`. Resolves once all four are
 * on record and the `/events` client has seen the error events.
 */
export async function secretErrors(): Promise<SecretErrors> {
  const registry = new Registry();
  const server = serveStatus({ registry });
  const events = await followEvents(new URL("/events", server.url));
  const stop = async () => {
    await events.close();
    await server.stop();
    await registry.stop();
  };
  try {
    const app = registry.register(
      new Service("app", {
        onStart(s) {
          const api = new Watcher("api", {
            poll: () => {
              throw new Error(secretMessage("watcher poll"));
            },
            interval: "20ms",
            retry: false,
          });
          // Listened to, so that they do not go to console.error.
          api.onError(() => {});
          s.own(api).start();
          const proc = s.startProcess(["sh", "-c", "echo ready; exec sleep 30"], {
            stdout: "pipe",
          });
          proc.on("error", () => {});
          proc.watchStream("stdout", () => {
            throw new Error(secretMessage("line callback"));
          });
          s.timeout(() => {
            throw new Error(secretMessage("timer"));
          }, 1);
        },
      }),
    );
    const db = registry.register(
      new Service("db", {
        onStart() {
          throw new Error(secretMessage("connect"));
        },
      }),
    );
    for (const svc of [app, db]) svc.onError(() => {});
    await app.start();
    await db.start().catch(() => {});
    await waitFor(
      () => {
        const h = app.health();
        return (
          h.lastError !== null &&
          h.watchers[0]?.state === "failed" &&
          h.processes[0]?.lastError !== null &&
          events.frames.filter((f) => f.event === "error").length >= 2
        );
      },
      { timeout: 5000, message: "every error on record and on /events" },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { registry, server, frames: events.frames, stop };
}

/** What each route answered: its body as text (`/events` as its frames' data lines). */
export async function everyRoute(s: SecretErrors): Promise<Record<string, string>> {
  const routes: Record<string, string> = {};
  for (const path of ["/status", "/status/app", "/status/db", "/healthz", "/"]) {
    routes[path] = await (await fetch(new URL(path, s.server.url))).text();
  }
  routes["/events"] = s.frames.map((f) => f.line).join("\n");
  return routes;
}

/** `route: secret` for each secret a route shows. */
export function leaks(routes: Record<string, string>): string[] {
  return Object.entries(routes).flatMap(([route, text]) =>
    ERROR_SECRETS.filter((secret) => text.includes(secret)).map((secret) => `${route}: ${secret}`),
  );
}
