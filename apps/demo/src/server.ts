/**
 * The demo's status server: `@specter/service`'s status app (with `/metrics`), served by the demo's
 * own `Bun.serve` so that every request it answers can be written to the demo's log, which the log
 * watcher follows. `serveStatus()` would serve the same app but gives no hook per request.
 */
import { messageOf } from "@specter/core";
import { createStatusApp, type Registry, type StatusServer } from "@specter/service";

/** Sent by the demo's own probe of `/healthz`, so its requests are told apart in the log. */
export const PROBE_AGENT = "specter-demo-probe";

export interface DemoServerOptions {
  registry: Registry;
  port: number;
  /** Gets each answered request as a log line, e.g. "GET /status 200 3ms". */
  onRequest: (line: string) => void;
}

/** Listens on 127.0.0.1:`port`; throws, saying why, when the port cannot be used. */
export function serveDemo({ registry, port, onRequest }: DemoServerOptions): StatusServer {
  const app = createStatusApp({ registry, metrics: true });
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port,
      // `/events` streams stay open for long: no idle timeout.
      idleTimeout: 0,
      async fetch(request, srv) {
        const t0 = performance.now();
        let status = 500; // what Bun answers when the app throws
        try {
          const response = await app.fetch(request, srv);
          status = response.status;
          return response;
        } finally {
          onRequest(requestLine(request, status, performance.now() - t0));
        }
      },
    });
  } catch (error) {
    const hint = "pick another --port, or --port 0 for any free one";
    throw new Error(`demo: cannot listen on 127.0.0.1:${port}: ${messageOf(error)}; ${hint}`, {
      cause: error,
    });
  }
  let stopped: Promise<void> | undefined;
  return {
    url: server.url.href,
    port: server.port as number,
    stop: () => {
      stopped ??= server.stop(true);
      return stopped;
    },
  };
}

/**
 * "METHOD /path STATUS TIMEms". The time is until the response starts (a `/events` stream is
 * logged when it opens). The query is left out: it may carry `?token=`.
 */
function requestLine(request: Request, status: number, ms: number): string {
  const path = new URL(request.url).pathname;
  const probe = request.headers.get("user-agent") === PROBE_AGENT ? " (self-probe)" : "";
  return `${request.method} ${path} ${status} ${Math.round(ms)}ms${probe}`;
}
