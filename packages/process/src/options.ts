import { constants } from "node:os";
import {
  backoffSchema,
  checkName,
  durationSchema,
  functionSchema,
  parseOptions,
} from "@specter/core";
import { z } from "zod";
import { optionsObject } from "./start-options.ts";
import type {
  ProcessOptions,
  ReadyPredicate,
  RestartPolicy,
  StreamName,
  WatchOptions,
} from "./types.ts";

export { onAbort, resolveStartOptions, type StartConfig } from "./start-options.ts";

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
  /** The signal of the graceful step of a stop (before SIGKILL). */
  killSignal: NodeJS.Signals;
  /** Longest a run may last, or `undefined` for no limit. */
  timeout: number | undefined;
  /** The `ready` option as a predicate (a RegExp is tested without its g/y state). */
  ready: ReadyPredicate | undefined;
  readyTimeout: number;
  restart: RestartConfig;
  hostShutdown: boolean;
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
    // A floor, not a rate limit: with 0 a crash loop restarted 434 times a second.
    initialBackoff: backoffSchema().default(500),
    maxBackoff: backoffSchema().default(30_000),
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

const SIGNAL_NAMES = new Set(Object.keys(constants.signals));
const SIGNAL_HINT =
  'a signal name of os.constants.signals, e.g. "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP"';

const processSchema = z
  .strictObject(
    {
      terminateTimeout: durationSchema().default(5_000),
      killTimeout: durationSchema({ positive: true }).default(1_000),
      killSignal: z
        .string({ error: SIGNAL_HINT })
        .refine((name) => SIGNAL_NAMES.has(name), { error: SIGNAL_HINT })
        .default("SIGTERM"),
      timeout: durationSchema({ positive: true }).optional(),
      ready: z
        .custom<RegExp | ReadyPredicate>((v) => v instanceof RegExp || typeof v === "function", {
          error: "a RegExp, or a function (line, stream) => boolean, that matches the ready line",
        })
        .optional(),
      readyTimeout: durationSchema({ positive: true }).optional(),
      restart: restartSchema,
      hostShutdown: z.boolean({ error: "true or false" }).default(true),
    },
    { error: "an options object, or nothing" },
  )
  .superRefine((o, ctx) => {
    // A readyTimeout alone would silently do nothing: most likely `ready` was forgotten.
    if (o.readyTimeout !== undefined && o.ready === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["readyTimeout"],
        message: 'only with a "ready" option (it bounds the wait for the ready line)',
      });
    }
  });

/** Validates a process's name and options; throws `OptionsError` naming each bad option. */
export function resolveProcessOptions(name: unknown, options: ProcessOptions = {}): ProcessConfig {
  checkName(name, "ManagedProcess");
  const o = parseOptions(processSchema, options ?? {}, `ManagedProcess "${String(name)}"`);
  return {
    terminateTimeout: o.terminateTimeout,
    killTimeout: o.killTimeout,
    killSignal: o.killSignal as NodeJS.Signals,
    timeout: o.timeout,
    ready: readyPredicate(o.ready),
    readyTimeout: o.readyTimeout ?? 30_000,
    restart: o.restart,
    hostShutdown: o.hostShutdown,
  };
}

function readyPredicate(ready: RegExp | ReadyPredicate | undefined): ReadyPredicate | undefined {
  if (!(ready instanceof RegExp)) return ready;
  // A global or sticky RegExp's test() resumes from lastIndex, so the same line could match once
  // and not the next time: test a copy without those flags.
  const regexp = new RegExp(ready.source, ready.flags.replace(/[gy]/g, ""));
  return (line) => regexp.test(line);
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
