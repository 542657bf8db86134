import { durationSchema, parseOptions } from "@specter/core";
import { Hono } from "hono";
import { z } from "zod";
import { registry as defaultRegistry, Registry } from "../registry.ts";
import type { Service } from "../service.ts";
import type { ServiceTypes } from "../types.ts";
import { guardWithToken } from "./auth.ts";
import { mountEvents, OpenStreams } from "./events.ts";
import { maskMessage } from "./mask-errors.ts";
import { type MetricsOption, metricsOptionSchema, mountMetrics } from "./metrics.ts";
import { mountPage } from "./page.ts";
import { statusOf } from "./status-of.ts";

export interface StatusAppOptions {
  /** Whose services to show (default: the shared `registry`). */
  registry?: Registry;
  /**
   * When set, every request needs `Authorization: Bearer <token>` (the scheme in any case).
   * `?token=<token>` is accepted on `GET /events` (an `EventSource` cannot send headers) and on
   * the page `GET /` (which passes it on to `/events`), nowhere else.
   */
  token?: string;
  /**
   * Most `/events` streams open at once (default 64): one more is answered 503 with `Retry-After`.
   * Each holds up to `maxQueuedBytes` for a client that does not read, so this bounds them all.
   */
  maxClients?: number;
  /** Most events queued for one slow `/events` client before the oldest are dropped (default 1000). */
  maxQueuedEvents?: number;
  /**
   * Most bytes queued for one slow `/events` client before the oldest events are dropped (default
   * 1 MiB, at least `maxEventBytes`). The client is told how many with a "dropped" event.
   */
  maxQueuedBytes?: number;
  /**
   * Longest JSON of an `/events` event (its `data:` line, after masking), in bytes (default 64
   * KiB). A longer event has its value (`value`, `data`, `changed`, `message` or `exit`) replaced
   * by the string `"[too large: <n> bytes of JSON, over maxEventBytes (<max>)]"`; if its names
   * still make it longer, only `type`, `service`, `at` and `tooLarge` are sent.
   */
  maxEventBytes?: number;
  /** How often `/events` sends a keep-alive comment when idle (default "15s"). */
  keepAlive?: number | string;
  /**
   * `GET /metrics` in the Prometheus text format: `true` serves Specter's metrics, a prom-client
   * `Registry` gets Specter's metrics added and is served whole (your metrics and ours on one
   * endpoint). Default off.
   */
  metrics?: MetricsOption;
}

const bytes = (least: number) =>
  z
    .number()
    .int("a whole number of bytes")
    .min(least, `a whole number of bytes, at least ${least}`);

const optionsSchema = z
  .strictObject({
    registry: z.instanceof(Registry, { error: "a Registry" }).optional(),
    token: z.string().min(1, "a non-empty string").optional(),
    maxClients: z.number().int("a whole number").min(1, "a whole number, at least 1").default(64),
    maxQueuedEvents: z.number().int().min(1).default(1000),
    maxQueuedBytes: bytes(1024).default(1024 * 1024),
    // Room for an event's names and the too-large marker.
    maxEventBytes: bytes(1024).default(64 * 1024),
    keepAlive: durationSchema({ positive: true }).default(15_000),
    metrics: metricsOptionSchema.default(false),
  })
  .refine((o) => o.maxQueuedBytes >= o.maxEventBytes, {
    path: ["maxQueuedBytes"],
    message: "at least maxEventBytes (a queue must hold the largest event)",
  });

const ROUTE_PATHS = ["/", "/status", "/status/:path{.+}", "/healthz", "/events"];

/**
 * The status endpoint as a Hono app: `GET /` (the status page), `GET /status`,
 * `GET /status/<service path>`, `GET /healthz`, `GET /events` (Server-Sent Events) and, with
 * `metrics`, `GET /metrics`. Mount it in your own server, or use `serveStatus()`. It never shows
 * environment variables, and masks secret-looking values in command lines, service data, watcher
 * values, events and error messages.
 */
export function createStatusApp(options: StatusAppOptions = {}): Hono {
  return buildStatusApp(options).app;
}

/**
 * The app and its open `/events` streams, for `serveStatus`, whose `stop()` ends them all. An
 * app served by your own `Bun.serve` ends a stream when its client goes, so `server.stop(true)`
 * (which closes every connection) ends them all as well.
 */
export function buildStatusApp(options: StatusAppOptions): { app: Hono; streams: OpenStreams } {
  const o = parseOptions(optionsSchema, options, "createStatusApp");
  const registry = o.registry ?? defaultRegistry;
  // strict: false serves "/status/" like "/status".
  const app = new Hono({ strict: false });
  const paths = o.metrics === false ? ROUTE_PATHS : [...ROUTE_PATHS, "/metrics"];
  const routes = paths.map((p) => `GET ${p}`).join(", ");

  // What threw may be a service's own code (a getter in its data, a health() of its own).
  app.onError((error, c) =>
    c.json({ error: `internal error: ${maskMessage(error.message)}` }, 500),
  );
  app.notFound((c) =>
    c.json({ error: `no route ${c.req.method} ${c.req.path}; the routes are ${routes}` }, 404),
  );

  if (o.token) guardWithToken(app, o.token);

  app.get("/status", (c) =>
    c.json({ services: registry.services().map((s) => statusOf(s)), at: Date.now() }),
  );

  // A path of names addresses a child service: /status/monitor/disk-checker.
  app.get("/status/:path{.+}", (c) => {
    const path = c.req.param("path").replace(/\/+$/, "");
    // Hono has decoded the parameter already (leaving malformed escapes as they are).
    const found = findService(registry, path.split("/"));
    if ("error" in found) return c.json({ error: found.error }, 404);
    return c.json(statusOf(found.service, path));
  });

  app.get("/healthz", (c) => {
    const statuses = registry.services().map((s) => statusOf(s));
    const reasons = statuses.flatMap((s) => s.reasons);
    const ok = reasons.length === 0;
    return c.json({ ok, services: statuses.length, reasons }, ok ? 200 : 503);
  });

  const streams = new OpenStreams();
  mountEvents(app, registry, o, streams);
  mountMetrics(app, registry, o.metrics);
  mountPage(app, registry, { token: o.token, maxEventBytes: o.maxEventBytes });

  // After the GET routes: any other method on a known path is 405, not 404.
  for (const path of paths) {
    app.all(path, (c) =>
      c.json({ error: `method ${c.req.method} is not allowed on ${c.req.path}; use GET` }, 405, {
        Allow: "GET, HEAD",
      }),
    );
  }

  return { app, streams };
}

/** The service at `names` (a registered service, then its children by name), or why not. */
function findService(
  registry: Registry,
  names: string[],
): { service: Service<ServiceTypes> } | { error: string } {
  const [first, ...rest] = names;
  const top = registry.service(first ?? "");
  if (!top) {
    const known = registry.services().map((s) => `"${s.name}"`);
    return { error: `no service named "${first}"; registered: ${known.join(", ") || "none"}` };
  }
  let service: Service<ServiceTypes> = top;
  let path = service.name;
  for (const name of rest) {
    const children: readonly Service<ServiceTypes>[] = service.ownedChildren();
    const child = children.find((c) => c.name === name);
    if (!child) {
      const known = children.map((c) => `"${c.name}"`);
      return {
        error: `service "${path}" has no child named "${name}"; its children: ${known.join(", ") || "none"}`,
      };
    }
    service = child;
    path = `${path}/${name}`;
  }
  return { service };
}
