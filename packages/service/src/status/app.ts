import { timingSafeEqual } from "node:crypto";
import { durationSchema, parseOptions } from "@specter/core";
import { Hono } from "hono";
import { z } from "zod";
import { registry as defaultRegistry, Registry } from "../registry.ts";
import type { Service } from "../service.ts";
import type { ServiceTypes } from "../types.ts";
import { mountEvents } from "./events.ts";
import { type MetricsOption, metricsOptionSchema, mountMetrics } from "./metrics.ts";
import { mountPage } from "./page.ts";
import { statusOf } from "./status-of.ts";

export interface StatusAppOptions {
  /** Whose services to show (default: the shared `registry`). */
  registry?: Registry;
  /** When set, every request needs `Authorization: Bearer <token>` (or `?token=` for EventSource). */
  token?: string;
  /** Most events queued for one slow `/events` client before the oldest are dropped (default 1000). */
  maxQueuedEvents?: number;
  /** How often `/events` sends a keep-alive comment when idle (default "15s"). */
  keepAlive?: number | string;
  /**
   * `GET /metrics` in the Prometheus text format: `true` serves Specter's metrics, a prom-client
   * `Registry` gets Specter's metrics added and is served whole (your metrics and ours on one
   * endpoint). Default off.
   */
  metrics?: MetricsOption;
}

const optionsSchema = z.strictObject({
  registry: z.instanceof(Registry, { error: "a Registry" }).optional(),
  token: z.string().min(1, "a non-empty string").optional(),
  maxQueuedEvents: z.number().int().min(1).default(1000),
  keepAlive: durationSchema({ positive: true }).default(15_000),
  metrics: metricsOptionSchema.default(false),
});

const ROUTE_PATHS = ["/", "/status", "/status/:path{.+}", "/healthz", "/events"];

/**
 * The status endpoint as a Hono app: `GET /` (the status page), `GET /status`,
 * `GET /status/<service path>`, `GET /healthz`, `GET /events` (Server-Sent Events) and, with
 * `metrics`, `GET /metrics`. Mount it in your own server, or use `serveStatus()`. It never shows
 * environment variables, and masks secret-looking values in command lines and service data.
 */
export function createStatusApp(options: StatusAppOptions = {}): Hono {
  const o = parseOptions(optionsSchema, options, "createStatusApp");
  const registry = o.registry ?? defaultRegistry;
  // strict: false serves "/status/" like "/status".
  const app = new Hono({ strict: false });
  const paths = o.metrics === false ? ROUTE_PATHS : [...ROUTE_PATHS, "/metrics"];
  const routes = paths.map((p) => `GET ${p}`).join(", ");

  app.onError((error, c) => c.json({ error: `internal error: ${error.message}` }, 500));
  app.notFound((c) =>
    c.json({ error: `no route ${c.req.method} ${c.req.path}; the routes are ${routes}` }, 404),
  );

  if (o.token) {
    const expected = Buffer.from(o.token);
    app.use("*", async (c, next) => {
      // The scheme is case-insensitive (RFC 9110): "bearer x" is a bearer token too.
      const bearer = /^bearer +(.*)$/i.exec(c.req.header("authorization") ?? "");
      const given = bearer ? (bearer[1] as string) : (c.req.query("token") ?? "");
      const buffer = Buffer.from(given);
      if (buffer.length !== expected.length || !timingSafeEqual(buffer, expected)) {
        return c.json({ error: "unauthorized: send Authorization: Bearer <token>" }, 401, {
          "WWW-Authenticate": "Bearer",
        });
      }
      await next();
    });
  }

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

  mountEvents(app, registry, o);
  mountMetrics(app, registry, o.metrics);
  mountPage(app, registry, { token: o.token });

  // After the GET routes: any other method on a known path is 405, not 404.
  for (const path of paths) {
    app.all(path, (c) =>
      c.json({ error: `method ${c.req.method} is not allowed on ${c.req.path}; use GET` }, 405, {
        Allow: "GET, HEAD",
      }),
    );
  }

  return app;
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
