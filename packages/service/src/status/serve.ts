import { functionSchema, messageOf, parseOptions } from "@specter/core";
import { z } from "zod";
import { buildStatusApp, type StatusAppOptions } from "./app.ts";
import { isLoopback } from "./loopback.ts";

export interface ServeStatusOptions extends StatusAppOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /**
   * Address to listen on (default "127.0.0.1": loopback only). Any other address ("0.0.0.0",
   * "::", a LAN address, a host name) needs a `token`, or `allowUnauthenticated: true`.
   */
  hostname?: string;
  /**
   * Serve a non-loopback `hostname` without a `token` (default false): anyone who can reach the
   * address then reads the status, the events and the page.
   */
  allowUnauthenticated?: boolean;
  /**
   * Called after each request is answered (when its response starts: an `/events` stream when it
   * opens), e.g. for an access log. The URL may carry `?token=`: leave the query out of logs.
   */
  onResponse?: (request: Request, response: Response, ms: number) => void;
}

export interface StatusServer {
  /** e.g. "http://127.0.0.1:43120/" */
  readonly url: string;
  readonly port: number;
  /**
   * Closes the server and every open connection; every `/events` stream ends and its listener
   * on the registry is removed, read or not.
   */
  stop(): Promise<void>;
}

const optionsSchema = z
  .object({
    port: z.number().int().min(0).max(65_535, "a port from 0 to 65535").default(0),
    hostname: z.string().min(1).default("127.0.0.1"),
    onResponse: functionSchema<NonNullable<ServeStatusOptions["onResponse"]>>(
      "a function (request, response, ms) => void",
    ).optional(),
    allowUnauthenticated: z.boolean().default(false),
  })
  .loose()
  .superRefine((o, ctx) => {
    const token = typeof o.token === "string" && o.token !== "";
    if (token || o.allowUnauthenticated || isLoopback(o.hostname)) return;
    ctx.addIssue({
      code: "custom",
      path: ["hostname"],
      message:
        "a loopback address (127.0.0.1, ::1 or localhost) when no token is set, as anyone who can reach the address could read the status; set token, or allowUnauthenticated: true to serve it without one",
    });
  });

/** Serves the status endpoint with `Bun.serve` on 127.0.0.1 (by default on a free port). */
export function serveStatus(options: ServeStatusOptions = {}): StatusServer {
  const { port, hostname, onResponse, allowUnauthenticated, ...appOptions } = parseOptions(
    optionsSchema,
    options,
    "serveStatus",
  );
  const { app, streams } = buildStatusApp(appOptions as StatusAppOptions);
  const fetch: (request: Request, server: Bun.Server<undefined>) => Promise<Response> | Response =
    onResponse
      ? async (request, server) => {
          const t0 = performance.now();
          const response = await app.fetch(request, server);
          try {
            onResponse(request, response, performance.now() - t0);
          } catch (error) {
            console.error("[specter] serveStatus onResponse threw:", error);
          }
          return response;
        }
      : app.fetch;
  let server: ReturnType<typeof Bun.serve>;
  try {
    // SSE streams stay open for long: no idle timeout.
    server = Bun.serve({ port, hostname, fetch, idleTimeout: 0 });
  } catch (error) {
    const reason = messageOf(error);
    throw new Error(
      `serveStatus: cannot listen on ${hostname}:${port}: ${reason}; pick another port, or port: 0 for a free one`,
      {
        cause: error,
      },
    );
  }
  let stopped: Promise<void> | undefined;
  return {
    url: server.url.href,
    port: server.port as number,
    stop: () => {
      // Ended here as well as by Bun, which cancels each body as it closes the connections: the
      // listeners go at once, whatever becomes of a stream Bun was not pulling from.
      streams.closeAll();
      stopped ??= server.stop(true);
      return stopped;
    },
  };
}
