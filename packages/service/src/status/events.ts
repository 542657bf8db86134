/**
 * `GET /events`: what happens in every registered service, as Server-Sent Events. Each client has
 * its own bounded queue, so a slow client loses its oldest events (and is told how many) instead
 * of holding the server's memory.
 */
import type { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { Activity } from "../activity.ts";
import type { Registry } from "../registry.ts";
import { maskData } from "./mask.ts";
import { wireReplacer } from "./wire.ts";

export interface EventsOptions {
  maxQueuedEvents: number;
  keepAlive: number;
}

export function mountEvents(app: Hono, registry: Registry, o: EventsOptions): void {
  // Each event's JSON, made once however many clients are connected (masking a service's data
  // is not free); dropped with the event.
  const wire = new WeakMap<Activity, string>();
  const json = (activity: Activity): string => {
    let text = wire.get(activity);
    if (text === undefined) {
      text = toJson(onTheWire(activity));
      wire.set(activity, text);
    }
    return text;
  };
  app.get("/events", (c) => {
    // Hono answers HEAD with this GET route and drops the body unread: a stream opened for it
    // would never be read nor cancelled, and its listener and queue would stay for good.
    if (c.req.method === "HEAD") {
      return c.body(null, 200, {
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-cache",
      });
    }
    return streamSSE(c, async (stream) => {
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
      try {
        await stream.writeSSE({
          event: "hello",
          data: JSON.stringify({
            services: registry.services().map((s) => s.name),
            at: Date.now(),
          }),
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
            await stream.writeSSE({ event: activity.type, data: json(activity) });
          }
        }
      } finally {
        // Also when writing failed: the registry keeps no listener for a stream that is gone.
        off();
      }
    });
  });
}

/** A service's data is masked and bounded before it leaves the process, as on `/status`. */
function onTheWire(activity: Activity): Activity {
  if (activity.type !== "data") return activity;
  return { ...activity, changed: maskData(activity.changed) };
}

/**
 * JSON for an event, values as `toWire` makes them (bigint as text, Map, Set, errors readable);
 * a value that still does not serialise (a cycle, a getter that throws) is said to be so.
 */
function toJson(activity: Activity): string {
  try {
    return JSON.stringify(activity, wireReplacer);
  } catch {
    const field = "value" in activity ? "value" : "data";
    return JSON.stringify({ ...activity, [field]: "[not serialisable]" });
  }
}
