/**
 * The demo's status server: `@specter/service`'s status endpoint (with `/metrics`) on 127.0.0.1,
 * each request it answers written to the demo's log, which the log watcher follows.
 */
import { messageOf } from "@specter/core";
import { type Registry, type StatusServer, serveStatus } from "@specter/service";

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
  try {
    return serveStatus({
      registry,
      port,
      metrics: true,
      onResponse: (request, response, ms) => onRequest(requestLine(request, response.status, ms)),
    });
  } catch (error) {
    const hint = "pick another --port, or --port 0 for any free one";
    const reason = messageOf((error as { cause?: unknown }).cause ?? error);
    throw new Error(`demo: cannot listen on 127.0.0.1:${port}: ${reason}; ${hint}`, {
      cause: error,
    });
  }
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
