import { checkName, durationSchema, functionSchema, parseOptions } from "@specter/core";
import { z } from "zod";
import type {
  ProcessOptions,
  RestartPolicy,
  StartOptions,
  StdioMode,
  StreamName,
  WatchOptions,
} from "./types.ts";

/** Restart settings after validation, durations in milliseconds. */
export interface RestartConfig {
  policy: RestartPolicy;
  maxRestarts: number;
  window: number;
  initialBackoff: number;
  maxBackoff: number;
}

export interface ProcessConfig {
  terminateTimeout: number;
  killTimeout: number;
  restart: RestartConfig;
  hostShutdown: boolean;
}

export interface StartConfig {
  argv: string[];
  cwd: string | undefined;
  env: Record<string, string | undefined>;
  stdin: StdioMode;
  stdout: StdioMode;
  stderr: StdioMode;
}

export type WatchConfig =
  | { mode: "lines"; maxLineLength: number; overflow: "split" | "truncate" }
  | { mode: "chunks" };

export const DEFAULT_MAX_LINE_LENGTH = 1_048_576;

const POLICIES = ["no", "on-failure", "always"] as const;
const policySchema = z.enum(POLICIES);

const restartObjectSchema = z
  .strictObject({
    policy: policySchema.default("no"),
    maxRestarts: z
      .number({ error: "a whole number of restarts, 0 or more" })
      .int({ error: "a whole number of restarts, 0 or more" })
      .min(0, { error: "a whole number of restarts, 0 or more" })
      .default(5),
    window: durationSchema({ positive: true }).default(60_000),
    initialBackoff: durationSchema().default(500),
    maxBackoff: durationSchema().default(30_000),
  })
  .superRefine((o, ctx) => {
    if (o.maxBackoff < o.initialBackoff) {
      ctx.addIssue({
        code: "custom",
        path: ["maxBackoff"],
        message: `at least initialBackoff (${o.initialBackoff}ms)`,
      });
    }
  });

const KNOWN_RESTART = Object.keys(restartObjectSchema.shape).join(", ");
const RESTART_HINT = `"no", "on-failure", "always", or { ${KNOWN_RESTART} }`;

/**
 * A policy name or the object with its limits. Not a `z.union`: a union reports a bad nested
 * field as a bad "restart", where we want "restart.window" named.
 */
const restartSchema = z
  .unknown()
  .optional()
  .transform((value, ctx): RestartConfig => {
    const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
    if (value !== undefined && typeof value !== "string" && !isObject) {
      ctx.addIssue({ code: "custom", message: RESTART_HINT });
      return z.NEVER;
    }
    const result = restartObjectSchema.safeParse(
      typeof value === "string" ? { policy: value } : (value ?? {}),
    );
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
      if (typeof value === "string") {
        ctx.addIssue({ code: "custom", message: RESTART_HINT }); // the name itself is wrong
      } else if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) {
          const message = `no such option; known options are ${KNOWN_RESTART}`;
          ctx.addIssue({ code: "custom", path: [...issue.path, key], message });
        }
      } else if (issue.code === "invalid_value") {
        const values = issue.values.map((v) => JSON.stringify(v)).join(", ");
        ctx.addIssue({ code: "custom", path: issue.path, message: `one of ${values}` });
      } else {
        ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
      }
    }
    return z.NEVER;
  });

const processSchema = z.strictObject({
  terminateTimeout: durationSchema().default(5_000),
  killTimeout: durationSchema({ positive: true }).default(1_000),
  restart: restartSchema,
  hostShutdown: z.boolean({ error: "true or false" }).default(true),
});

/** Validates a process's name and options; throws `OptionsError` naming each bad option. */
export function resolveProcessOptions(name: unknown, options: ProcessOptions = {}): ProcessConfig {
  checkName(name, "ManagedProcess");
  const o = parseOptions(processSchema, options ?? {}, `ManagedProcess "${String(name)}"`);
  return {
    terminateTimeout: o.terminateTimeout,
    killTimeout: o.killTimeout,
    restart: o.restart,
    hostShutdown: o.hostShutdown,
  };
}

const stdioSchema = z.enum(["pipe", "inherit", "ignore"]);

const argvSchema = z
  .array(z.string({ error: "strings only (each argument as its own string; no shell)" }), {
    error: 'an array of strings, program first: ["cloudflared", "tunnel", "--url", url]',
  })
  .min(1, { error: 'a non-empty array of strings, program first: ["sleep", "10"]' })
  .refine((argv) => argv[0] !== "", { error: "a program name or path as the first element" });

const startSchema = z.strictObject({
  argv: argvSchema,
  cwd: z.string({ error: "a directory path" }).min(1, { error: "a directory path" }).optional(),
  env: z
    .record(z.string(), z.union([z.string(), z.undefined()]), {
      error: 'an object of string values, e.g. { ...process.env, DEBUG: "1" }',
    })
    .optional(),
  stdin: stdioSchema.default("ignore"),
  stdout: stdioSchema.default("inherit"),
  stderr: stdioSchema.default("inherit"),
});

const objectSchema = z.record(z.string(), z.unknown(), { error: "an options object, or nothing" });

/** `undefined` becomes `{}`; anything but a plain object is an `OptionsError`. */
function optionsObject(options: unknown, context: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    parseOptions(z.never({ error: "an options object, or nothing" }), options, context);
  }
  return parseOptions(objectSchema, options, context);
}

/** Validates `start(argv, options)`; throws `OptionsError`. */
export function resolveStartOptions(
  argv: unknown,
  options: StartOptions | undefined,
  context: string,
): StartConfig {
  const opts = optionsObject(options, `${context}: start()`);
  const o = parseOptions(startSchema, { ...opts, argv }, `${context}: start()`);
  return {
    argv: o.argv,
    cwd: o.cwd,
    env: o.env ?? process.env,
    stdin: o.stdin,
    stdout: o.stdout,
    stderr: o.stderr,
  };
}

const watchSchema = z.strictObject({
  stream: z.enum(["stdout", "stderr"]),
  callback: functionSchema("a function called once per line (or chunk)"),
  mode: z.enum(["lines", "chunks"]).default("lines"),
  maxLineLength: z
    .number({ error: "a whole number of characters, at least 1" })
    .int({ error: "a whole number of characters, at least 1" })
    .min(1, { error: "a whole number of characters, at least 1" })
    .default(DEFAULT_MAX_LINE_LENGTH),
  overflow: z.enum(["split", "truncate"]).default("split"),
});

/** Validates `watchStream(name, callback, options)`; throws `OptionsError`. */
export function resolveWatchOptions(
  stream: unknown,
  callback: unknown,
  options: WatchOptions | undefined,
  context: string,
): { stream: StreamName; config: WatchConfig } {
  const opts = optionsObject(options, `${context}: watchStream()`);
  const o = parseOptions(watchSchema, { ...opts, stream, callback }, `${context}: watchStream()`);
  if (o.mode === "chunks") {
    const extra = (["maxLineLength", "overflow"] as const).filter(
      (k) => options && (options as Record<string, unknown>)[k] !== undefined,
    );
    if (extra.length > 0) {
      parseOptions(
        z.strictObject({ mode: z.literal("chunks") }),
        options,
        `${context}: watchStream()`,
      );
    }
    return { stream: o.stream, config: { mode: "chunks" } };
  }
  return {
    stream: o.stream,
    config: { mode: "lines", maxLineLength: o.maxLineLength, overflow: o.overflow },
  };
}
