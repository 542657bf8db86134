import { existsSync } from "node:fs";
import { isAbsolute } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  checkName,
  durationSchema,
  functionSchema,
  OptionsError,
  parseOptions,
} from "@specter/core";
import { z } from "zod";
import { WorkerPool } from "./pool.ts";
import type { WatcherMode, WatcherOptions } from "./types.ts";

type AnyFunction = (...args: never[]) => unknown;

/** A module source after validation: the module as a `file:` URL string. */
export interface ResolvedModule {
  url: string;
  export: string;
  args: unknown[];
}

export type ResolvedSource =
  | { kind: "function"; fn: AnyFunction }
  | { kind: "module"; module: ResolvedModule };

/** Options after validation, with every duration in milliseconds. */
export interface WatcherConfig {
  mode: WatcherMode;
  source: ResolvedSource;
  interval: number;
  timeout: number | undefined;
  retry: boolean;
  initialBackoff: number;
  maxBackoff: number;
  jitter: number;
  dedupe: false | ((previous: unknown, next: unknown) => boolean);
  transform: ((value: unknown) => unknown) | undefined;
  stopTimeout: number;
  worker: "shared" | "dedicated";
  pool: WorkerPool | undefined;
}

const MODULE_HINT =
  'a function, or a module source { module: new URL("./source.ts", import.meta.url), export?: string, args?: unknown[] }';

const JITTER = { error: "true, false, or a number from 0 to 1" };

const moduleSourceSchema = z.strictObject({
  module: z.union([z.instanceof(URL), z.string().min(1)], {
    error:
      'a URL (new URL("./source.ts", import.meta.url)), a file: URL string or an absolute path',
  }),
  export: z.string({ error: "the name of an export, as a string" }).min(1).optional(),
  args: z.array(z.unknown(), { error: "an array of structured-clonable arguments" }).optional(),
});

const sourceSchema = z.union([functionSchema(), moduleSourceSchema], { error: MODULE_HINT });

const schema = z
  .strictObject({
    poll: sourceSchema.optional(),
    stream: sourceSchema.optional(),
    interval: durationSchema({ positive: true }).optional(),
    timeout: durationSchema({ positive: true }).optional(),
    retry: z.boolean({ error: "true or false" }).default(true),
    initialBackoff: durationSchema({ positive: true }).default(1_000),
    maxBackoff: durationSchema({ positive: true }).optional(),
    jitter: z.union([z.boolean(), z.number().min(0, JITTER).max(1, JITTER)], JITTER).default(false),
    dedupe: z
      .union([z.boolean(), functionSchema()], {
        error: "true, false, or a function (previous, next) => boolean",
      })
      .default(false),
    transform: functionSchema("a function (value) => newValue").optional(),
    stopTimeout: durationSchema().default(5_000),
    worker: z.enum(["shared", "dedicated"]).default("shared"),
    pool: z.instanceof(WorkerPool, { error: "a WorkerPool" }),
  })
  .partial({ pool: true })
  .superRefine((o, ctx) => {
    if (o.poll !== undefined && o.stream !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["stream"],
        message: 'either "poll" or "stream", not both',
      });
    }
    if (o.poll === undefined && o.stream === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["poll"],
        message: `"poll" or "stream": ${MODULE_HINT}`,
      });
    }
    if (o.poll !== undefined && o.interval === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["interval"],
        message: 'a duration such as "2s": poll mode needs an interval',
      });
    }
    if (o.stream !== undefined && o.poll === undefined && o.interval !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["interval"],
        message: 'no interval: "interval" is for poll mode',
      });
    }
    if (o.stream !== undefined && o.poll === undefined && o.timeout !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["timeout"],
        message: 'no timeout: "timeout" limits each poll, in poll mode',
      });
    }
    const fn = typeof (o.poll ?? o.stream) === "function";
    const workerOnly = "only module sources ({ module }) run in workers";
    if (fn && o.worker !== "shared") {
      ctx.addIssue({
        code: "custom",
        path: ["worker"],
        message: `no "worker" for a function source: ${workerOnly}`,
      });
    }
    if (fn && o.pool !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["pool"],
        message: `no "pool" for a function source: ${workerOnly}`,
      });
    }
    if (o.maxBackoff !== undefined && o.maxBackoff < o.initialBackoff) {
      ctx.addIssue({
        code: "custom",
        path: ["maxBackoff"],
        message: `at least initialBackoff (${o.initialBackoff}ms)`,
      });
    }
  });

/** Validates a watcher's name and options; throws `OptionsError` naming each bad option. */
export function resolveOptions(
  name: unknown,
  options: WatcherOptions<unknown, unknown>,
): WatcherConfig {
  checkName(name, "Watcher");
  const context = `Watcher "${String(name)}"`;
  const o = parseOptions(schema, options, context);
  const mode: WatcherMode = o.poll !== undefined ? "poll" : "stream";
  const raw = (o.poll ?? o.stream) as AnyFunction | z.output<typeof moduleSourceSchema>;
  const source: ResolvedSource =
    typeof raw === "function"
      ? { kind: "function", fn: raw }
      : { kind: "module", module: resolveModule(raw, mode, context) };
  return {
    mode,
    source,
    interval: o.interval ?? 0,
    timeout: o.timeout,
    retry: o.retry,
    initialBackoff: o.initialBackoff,
    // Unset, it is 30 s, or initialBackoff when that is longer.
    maxBackoff: o.maxBackoff ?? Math.max(30_000, o.initialBackoff),
    jitter: o.jitter === true ? 1 : o.jitter === false ? 0 : o.jitter,
    dedupe:
      o.dedupe === true
        ? (a, b) => Bun.deepEquals(a, b)
        : o.dedupe === false
          ? false
          : (o.dedupe as WatcherConfig["dedupe"] & AnyFunction),
    transform: o.transform as WatcherConfig["transform"],
    stopTimeout: o.stopTimeout,
    worker: o.worker,
    pool: o.pool,
  };
}

function resolveModule(
  source: z.output<typeof moduleSourceSchema>,
  mode: WatcherMode,
  context: string,
): ResolvedModule {
  let option = `${mode}.module`;
  const fail = (value: unknown, expected: string): never => {
    throw new OptionsError(context, [{ option, value, expected }]);
  };
  let url: string;
  if (source.module instanceof URL) url = source.module.href;
  else if (source.module.startsWith("file:")) url = source.module;
  else if (isAbsolute(source.module)) url = pathToFileURL(source.module).href;
  else {
    return fail(
      source.module,
      'a URL or an absolute path; a relative path is ambiguous in a worker: use new URL("./source.ts", import.meta.url)',
    );
  }
  if (!url.startsWith("file:"))
    return fail(source.module, "a file: URL (workers load modules from disk)");
  if (!existsSync(fileURLToPath(url)))
    return fail(source.module, "a module that exists; no file is there");
  const args = source.args ?? [];
  try {
    structuredClone(args);
  } catch {
    option = `${mode}.args`;
    return fail(
      args,
      "structured-clonable arguments (plain data: no functions, sockets or class instances with methods)",
    );
  }
  return { url, export: source.export ?? "default", args };
}
