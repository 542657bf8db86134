/**
 * `GET /events`: what happens in every registered service, as Server-Sent Events. Each client has
 * its own queue, bounded by count and by bytes, so a slow client loses its oldest events (and is
 * told how many) instead of holding the server's memory; no one event is bigger than
 * `maxEventBytes`. The body is a pull stream: a frame leaves the queue only when the connection
 * takes more, so what a client has not read stays within its bounds. At most `maxClients` streams
 * are open at once (each may hold its queue's bounds); one more is answered 503.
 */
import type { Hono } from "hono";
import type { Registry } from "../registry.ts";
import { frameMaker, plainFrame } from "./event-frame.ts";
import { EventQueue } from "./event-queue.ts";

export interface EventsOptions {
  maxClients: number;
  maxQueuedEvents: number;
  maxQueuedBytes: number;
  maxEventBytes: number;
  keepAlive: number;
}

const KEEP_ALIVE = new TextEncoder().encode(": keep-alive\n\n");
/** Seconds a refused client is asked to wait: streams end when their clients go. */
const RETRY_AFTER_SECONDS = 10;

/** The open `/events` streams of one app; `closeAll()` ends each and removes its listener. */
export class OpenStreams {
  readonly #ends = new Set<() => void>();

  get size(): number {
    return this.#ends.size;
  }

  add(end: () => void): void {
    this.#ends.add(end);
  }

  delete(end: () => void): void {
    this.#ends.delete(end);
  }

  closeAll(): void {
    for (const end of [...this.#ends]) end();
  }
}

export function mountEvents(
  app: Hono,
  registry: Registry,
  o: EventsOptions,
  open: OpenStreams,
): void {
  const frameOf = frameMaker(o.maxEventBytes);
  const bounds = { events: o.maxQueuedEvents, bytes: o.maxQueuedBytes };
  const headers = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
  };
  app.get("/events", (c) => {
    if (open.size >= o.maxClients) {
      const error = `too many /events clients: ${open.size} streams are open, maxClients is ${o.maxClients}; try again later`;
      return c.json({ error }, 503, { "Retry-After": String(RETRY_AFTER_SECONDS) });
    }
    // Hono answers HEAD with this GET route and drops the body unread: a stream opened for it
    // would never be read nor cancelled, and its listener and queue would stay for good.
    if (c.req.method === "HEAD") return c.body(null, 200, headers);
    const queue = new EventQueue(bounds);
    const off = registry.onActivity((activity) => queue.push(frameOf(activity)));
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    const end = () => {
      if (queue.closed) return;
      queue.close();
      off();
      open.delete(end);
      try {
        controller?.close();
      } catch {
        // Already closed or errored: nothing more to end.
      }
    };
    open.add(end);
    c.req.raw.signal.addEventListener("abort", end, { once: true });
    const body = new ReadableStream<Uint8Array>(
      {
        start: (ctrl) => {
          controller = ctrl;
          const services = registry.services().map((s) => s.name);
          ctrl.enqueue(plainFrame("hello", { services, at: Date.now() }).bytes);
        },
        pull: async (ctrl) => {
          for (;;) {
            if (queue.closed) return;
            const dropped = queue.takeDropped();
            if (dropped > 0) {
              ctrl.enqueue(plainFrame("dropped", { count: dropped, at: Date.now() }).bytes);
              return;
            }
            const frame = queue.shift();
            if (frame) {
              ctrl.enqueue(frame.bytes);
              return;
            }
            if (await queue.wait(o.keepAlive)) {
              if (!queue.closed) ctrl.enqueue(KEEP_ALIVE);
              return;
            }
          }
        },
        // The client went away (Bun cancels the body of a closed connection).
        cancel: end,
      },
      { highWaterMark: 0 },
    );
    return c.body(body, 200, headers);
  });
}
