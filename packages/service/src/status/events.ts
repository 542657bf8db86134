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

export interface EventsOptions {
  maxQueuedEvents: number;
  keepAlive: number;
}

export function mountEvents(app: Hono, registry: Registry, o: EventsOptions): void {
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
          await stream.writeSSE({ event: activity.type, data: toJson(onTheWire(activity)) });
        }
      }
      off();
    }),
  );
}

/** JSON for an event: values that do not serialise (bigint, cycles) are shown as text. */
/** A service's data is masked and bounded before it leaves the process, as on `/status`. */
function onTheWire(activity: Activity): Activity {
  if (activity.type !== "data") return activity;
  return { ...activity, changed: maskData(activity.changed) };
}

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
