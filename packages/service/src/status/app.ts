import { timingSafeEqual } from "node:crypto";
import { durationSchema, parseOptions } from "@specter/core";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import type { Activity } from "../activity.ts";
import { registry as defaultRegistry, Registry } from "../registry.ts";
import type { Service } from "../service.ts";
import type { ServiceTypes } from "../types.ts";
import { maskArgv } from "./mask.ts";
import type { ProcessStatus, ServiceStatus } from "./schemas.ts";

export interface StatusAppOptions {
  /** Whose services to show (default: the shared `registry`). */
  registry?: Registry;
  /** When set, every request needs `Authorization: Bearer <token>` (or `?token=` for EventSource). */
  token?: string;
  /** Most events queued for one slow `/events` client before the oldest are dropped (default 1000). */
  maxQueuedEvents?: number;
  /** How often `/events` sends a keep-alive comment when idle (default "15s"). */
  keepAlive?: number | string;
}

const optionsSchema = z.strictObject({
  registry: z.instanceof(Registry, { error: "a Registry" }).optional(),
  token: z.string().min(1, "a non-empty string").optional(),
  maxQueuedEvents: z.number().int().min(1).default(1000),
  keepAlive: durationSchema({ positive: true }).default(15_000),
});

const ROUTES = "GET /status, GET /status/:name, GET /healthz, GET /events";
const ROUTE_PATHS = ["/status", "/status/:name", "/healthz", "/events"];

/**
 * The status endpoint as a Hono app: `GET /status`, `GET /status/:name`, `GET /healthz` and
 * `GET /events` (Server-Sent Events). Mount it in your own server, or use `serveStatus()`.
 * It never shows environment variables, and masks secret-looking values in command lines.
 */
export function createStatusApp(options: StatusAppOptions = {}): Hono {
  const o = parseOptions(optionsSchema, options, "createStatusApp");
  const registry = o.registry ?? defaultRegistry;
  // strict: false serves "/status/" like "/status".
  const app = new Hono({ strict: false });

  app.onError((error, c) => c.json({ error: `internal error: ${error.message}` }, 500));
  app.notFound((c) =>
    c.json({ error: `no route ${c.req.method} ${c.req.path}; the routes are ${ROUTES}` }, 404),
  );

  if (o.token) {
    const expected = Buffer.from(o.token);
    app.use("*", async (c, next) => {
      const header = c.req.header("authorization") ?? "";
      const given = header.startsWith("Bearer ") ? header.slice(7) : (c.req.query("token") ?? "");
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

  app.get("/status/:name", (c) => {
    const name = c.req.param("name");
    const service = registry.service(name);
    if (!service) {
      const names = registry.services().map((s) => `"${s.name}"`);
      return c.json(
        { error: `no service named "${name}"; registered: ${names.join(", ") || "none"}` },
        404,
      );
    }
    return c.json(statusOf(service));
  });

  app.get("/healthz", (c) => {
    const statuses = registry.services().map((s) => statusOf(s));
    const reasons = statuses.flatMap((s) => s.reasons);
    const ok = reasons.length === 0;
    return c.json({ ok, services: statuses.length, reasons }, ok ? 200 : 503);
  });

  app.get("/events", (c) =>
    streamSSE(c, async (stream) => {
      const queue: Activity[] = [];
      let dropped = 0;
      let wake: (() => void) | undefined;
      let closed = false;
      const off = registry.onActivity((activity) => {
        if (queue.push(activity) > o.maxQueuedEvents) {
          queue.shift();
          dropped++;
        }
        wake?.();
      });
      stream.onAbort(() => {
        closed = true;
        off();
        wake?.();
      });
      await stream.writeSSE({
        event: "hello",
        data: JSON.stringify({ services: registry.services().map((s) => s.name), at: Date.now() }),
      });
      while (!closed) {
        if (queue.length === 0) {
          let timer: Timer | undefined;
          const idle = await new Promise<boolean>((resolve) => {
            wake = () => resolve(false);
            timer = setTimeout(resolve, o.keepAlive, true);
          });
          clearTimeout(timer);
          wake = undefined;
          if (idle && !closed) await stream.write(": keep-alive\n\n");
          continue;
        }
        if (dropped > 0) {
          await stream.writeSSE({
            event: "dropped",
            data: JSON.stringify({ count: dropped, at: Date.now() }),
          });
          dropped = 0;
        }
        for (const activity of queue.splice(0)) {
          await stream.writeSSE({ event: activity.type, data: toJson(activity) });
        }
      }
      off();
    }),
  );

  // After the GET routes: any other method on a known path is 405, not 404.
  for (const path of ROUTE_PATHS) {
    app.all(path, (c) =>
      c.json({ error: `method ${c.req.method} is not allowed on ${c.req.path}; use GET` }, 405, {
        Allow: "GET, HEAD",
      }),
    );
  }

  return app;
}

/**
 * A service's status: its health as it is (every field, so one added to a `health()` shows up
 * here without a change), with process command lines masked, and why it is not healthy.
 */
export function statusOf(service: Service<ServiceTypes>, path = service.name): ServiceStatus {
  const { processes: _, children: __, ...health } = service.health();
  const reasons: string[] = [];
  if (health.state !== "running") reasons.push(`${path}: service is ${health.state}`);
  for (const w of health.watchers) {
    if (w.state === "failed")
      reasons.push(
        `${path}: watcher "${w.name}" failed${w.lastError ? `: ${w.lastError.message}` : ""}`,
      );
  }
  const processes: ProcessStatus[] = service
    .ownedProcesses()
    .map((p) => ({ ...p.health(), argv: maskArgv(p.argv ?? []) }));
  for (const p of processes) {
    if (p.state === "failed")
      reasons.push(`${path}: process "${p.name}" gave up after ${p.restarts} restarts`);
    if (p.state === "exited") {
      const how = p.lastExit?.signalCode ?? `code ${p.lastExit?.exitCode}`;
      reasons.push(`${path}: process "${p.name}" exited (${how}) and will not restart`);
    }
  }
  const children = service.ownedChildren().map((child) => statusOf(child, `${path}/${child.name}`));
  for (const child of children) reasons.push(...child.reasons);
  return { ...health, healthy: reasons.length === 0, reasons, processes, children };
}

/** JSON for an event: values that do not serialise (bigint, cycles) are shown as text. */
function toJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
  } catch {
    return JSON.stringify({
      ...(value as object),
      value: "[not serialisable]",
      data: "[not serialisable]",
    });
  }
}
