import { parseArgs } from "node:util";
import { type Duration, durationSchema, parseOptions } from "@specter/core";
import { z } from "zod";

/** The documented default port of the demo's status endpoint (a free one is used if it is taken). */
export const DEFAULT_PORT = 4777;

export interface DemoArgs {
  port: number;
  /** Exact port requested with --port (no fallback when it is taken). */
  portGiven: boolean;
  /** Milliseconds to run, or undefined to run until Ctrl-C. */
  duration: number | undefined;
  json: boolean;
}

export const USAGE = `usage: bun run apps/demo [--port N] [--duration 10s] [--json]
  --port N          status endpoint port (default ${DEFAULT_PORT}, or a free port if it is taken; 0 = any free port)
  --duration D      run for D ("10s", "2m", or milliseconds), then stop and exit 0
  --json            print events as JSON lines instead of the live view`;

const schema = z.strictObject({
  port: z.coerce.number().int().min(0).max(65_535).optional(),
  duration: durationSchema({ positive: true }).optional(),
  json: z.boolean().default(false),
  help: z.boolean().default(false),
});

export function parseDemoArgs(argv: string[]): DemoArgs | "help" {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        port: { type: "string" },
        duration: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  const o = parseOptions(schema, values, "demo");
  if (o.help) return "help";
  return {
    port: o.port ?? DEFAULT_PORT,
    portGiven: o.port !== undefined,
    duration: o.duration as Duration as number | undefined,
    json: o.json,
  };
}
