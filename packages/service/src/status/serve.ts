import { messageOf, parseOptions } from "@specter/core";
import { z } from "zod";
import { createStatusApp, type StatusAppOptions } from "./app.ts";

export interface ServeStatusOptions extends StatusAppOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Address to listen on (default "127.0.0.1": loopback only). */
  hostname?: string;
}

export interface StatusServer {
  /** e.g. "http://127.0.0.1:43120/" */
  readonly url: string;
  readonly port: number;
  /** Closes the server and every open connection (including `/events` streams). */
  stop(): Promise<void>;
}

const optionsSchema = z
  .object({
    port: z.number().int().min(0).max(65_535, "a port from 0 to 65535").default(0),
    hostname: z.string().min(1).default("127.0.0.1"),
  })
  .loose();

/** Serves the status endpoint with `Bun.serve` on 127.0.0.1 (by default on a free port). */
export function serveStatus(options: ServeStatusOptions = {}): StatusServer {
  const { port, hostname, ...appOptions } = parseOptions(optionsSchema, options, "serveStatus");
  const app = createStatusApp(appOptions as StatusAppOptions);
  let server: ReturnType<typeof Bun.serve>;
  try {
    // SSE streams stay open for long: no idle timeout.
    server = Bun.serve({ port, hostname, fetch: app.fetch, idleTimeout: 0 });
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
      stopped ??= server.stop(true);
      return stopped;
    },
  };
}
