import { existsSync } from "node:fs";
import { isAbsolute } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  checkName,
  durationSchema,
  functionSchema,
  MAX_TIMER_MS,
  OptionsError,
  parseOptions,
  tryParseDuration,
} from "@specter/core";
import { z } from "zod";
import { WorkerPool } from "./pool.ts";
import type { WatcherMode, WatcherOptions } from "./types.ts";

type AnyFunction = (...args: never[]) => unknown;

/** A module source after validation: the module as a `file:` URL string; what a worker loads. */
export interface ResolvedModule {
  mode: WatcherMode;
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
  isolation: "worker" | "process";
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
    isolation: z.enum(["worker", "process"]).default("worker"),
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
    if (fn && o.isolation !== "worker") {
      ctx.addIssue({
        code: "custom",
        path: ["isolation"],
        message: `no "isolation" for a function source: it runs on the calling thread; only module sources ({ module }) run in a "worker" or a "process"`,
      });
    }
    if (o.isolation === "process" && (o.worker !== "shared" || o.pool !== undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [o.pool !== undefined ? "pool" : "worker"],
        message:
          'no "worker" or "pool" with isolation "process": the source gets a process of its own',
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

type Parsed = z.output<typeof schema>;

/** The zod parse alone, for the tests that hold the fast path to it. */
export function zodParse(input: unknown): Parsed | undefined {
  const result = schema.safeParse(input);
  return result.success ? result.data : undefined;
}

const KNOWN = new Set(Object.keys(schema.shape));

/** `dedupe: true`: one comparer for every watcher rather than a closure each. */
const deepEquals = (a: unknown, b: unknown): boolean => Bun.deepEquals(a, b);

/**
 * Durations already parsed, by their text: watchers are made by the thousand with the same few
 * strings ("1s"), and each parse allocates its regex matches. Bounded, since the texts are the
 * caller's.
 */
const durations = new Map<string, number>();

function fastDuration(value: unknown, fallback: number, positive: boolean): number | undefined {
  if (value === undefined) return fallback;
  let ms: number | undefined;
  if (typeof value === "string") {
    ms = durations.get(value);
    if (ms === undefined) {
      ms = tryParseDuration(value);
      if (ms !== undefined && durations.size < 256) durations.set(value, ms);
    }
  } else ms = tryParseDuration(value);
  if (ms === undefined || ms > MAX_TIMER_MS || (positive && ms === 0)) return undefined;
  return ms;
}

/**
 * Validates without zod the options zod would accept, and gives up (returns `undefined`) at the
 * first doubt, so zod then produces the error. Why: 10,000 zod parses added 18.8 MB RSS (the heap
 * grew to hold their garbage before a collection) for 2.6 MB of retained configs, and took 47 ms.
 * The rules are the schema's above; lean.test.ts holds the two paths to the same results.
 */
export function fastParse(input: unknown): Parsed | undefined {
  if (input === null || typeof input !== "object") return undefined;
  const proto = Object.getPrototypeOf(input);
  if (proto !== Object.prototype && proto !== null) return undefined;
  for (const key in input) if (!KNOWN.has(key)) return undefined;
  const o = input as Record<string, unknown>;
  const poll = fastSource(o.poll);
  const stream = fastSource(o.stream);
  if (poll === null || stream === null) return undefined;
  if ((poll === undefined) === (stream === undefined)) return undefined;
  const interval = o.interval === undefined ? undefined : fastDuration(o.interval, 0, true);
  const timeout = o.timeout === undefined ? undefined : fastDuration(o.timeout, 0, true);
  if (
    (o.interval !== undefined && interval === undefined) ||
    (o.timeout !== undefined && timeout === undefined)
  )
    return undefined;
  if (poll !== undefined ? interval === undefined : interval !== undefined || timeout !== undefined)
    return undefined;
  const retry = o.retry ?? true;
  if (typeof retry !== "boolean") return undefined;
  const initialBackoff = fastDuration(o.initialBackoff, 1_000, true);
  if (initialBackoff === undefined) return undefined;
  const maxBackoff = o.maxBackoff === undefined ? undefined : fastDuration(o.maxBackoff, 0, true);
  if (o.maxBackoff !== undefined && (maxBackoff === undefined || maxBackoff < initialBackoff))
    return undefined;
  const jitter = o.jitter ?? false;
  if (typeof jitter !== "boolean" && !(typeof jitter === "number" && jitter >= 0 && jitter <= 1))
    return undefined;
  const dedupe = o.dedupe ?? false;
  if (typeof dedupe !== "boolean" && typeof dedupe !== "function") return undefined;
  if (o.transform !== undefined && typeof o.transform !== "function") return undefined;
  const stopTimeout = fastDuration(o.stopTimeout, 5_000, false);
  if (stopTimeout === undefined) return undefined;
  const worker = o.worker ?? "shared";
  if (worker !== "shared" && worker !== "dedicated") return undefined;
  const isolation = o.isolation ?? "worker";
  if (isolation !== "worker" && (isolation !== "process" || worker !== "shared" || o.pool))
    return undefined;
  if (o.pool !== undefined && !(o.pool instanceof WorkerPool)) return undefined;
  const fn = typeof (poll ?? stream) === "function";
  if (fn && (worker !== "shared" || o.pool !== undefined || isolation !== "worker"))
    return undefined;
  return {
    poll,
    stream,
    interval,
    timeout,
    retry,
    initialBackoff,
    maxBackoff,
    jitter,
    dedupe,
    transform: o.transform,
    stopTimeout,
    worker,
    isolation,
    pool: o.pool,
  } as Parsed;
}

/** A source as zod would output it; `undefined` when absent, `null` when in doubt. */
function fastSource(value: unknown): unknown {
  if (value === undefined || typeof value === "function") return value;
  if (value === null || typeof value !== "object") return null;
  if (Object.getPrototypeOf(value) !== Object.prototype) return null;
  const m = value as Record<string, unknown>;
  for (const key in m) if (key !== "module" && key !== "export" && key !== "args") return null;
  const module = m.module;
  if (!(module instanceof URL) && !(typeof module === "string" && module.length > 0)) return null;
  if (m.export !== undefined && !(typeof m.export === "string" && m.export.length > 0)) return null;
  if (m.args !== undefined && !Array.isArray(m.args)) return null;
  const source: { module: URL | string; export?: string; args?: unknown[] } = { module };
  if (m.export !== undefined) source.export = m.export;
  // zod copies an array it parses: the watcher keeps its own.
  if (m.args !== undefined) source.args = (m.args as unknown[]).slice();
  return source;
}

/** Validates a watcher's name and options; throws `OptionsError` naming each bad option. */
export function resolveOptions(
  name: unknown,
  options: WatcherOptions<unknown, unknown>,
): WatcherConfig {
  if (typeof name !== "string" || name === "") checkName(name, "Watcher");
  const context = `Watcher "${String(name)}"`;
  const o = fastParse(options) ?? parseOptions(schema, options, context);
  const mode: WatcherMode = o.poll !== undefined ? "poll" : "stream";
  const raw = (o.poll ?? o.stream) as AnyFunction | z.output<typeof moduleSourceSchema>;
  const source: ResolvedSource =
    typeof raw === "function"
      ? { kind: "function", fn: raw }
      : { kind: "module", module: resolveModule(raw, mode, context) };
  const config: WatcherConfig = {
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
        ? deepEquals
        : o.dedupe === false
          ? false
          : (o.dedupe as WatcherConfig["dedupe"] & AnyFunction),
    transform: o.transform as WatcherConfig["transform"],
    stopTimeout: o.stopTimeout,
    worker: o.worker,
    isolation: o.isolation,
    pool: o.pool,
  };
  return intern(config);
}

/**
 * The config last made, weakly held: watchers made in a loop with the same options share one
 * config (196 bytes each otherwise; 19 MB for 100,000 watchers). Configs are never mutated.
 */
let lastConfig: WeakRef<WatcherConfig> | undefined;

function intern(config: WatcherConfig): WatcherConfig {
  const last = lastConfig?.deref();
  if (last && sameConfig(last, config)) return last;
  lastConfig = new WeakRef(config);
  return config;
}

function sameConfig(a: WatcherConfig, b: WatcherConfig): boolean {
  const x = a.source;
  const y = b.source;
  const sameSource =
    x.kind === "function"
      ? y.kind === "function" && x.fn === y.fn
      : y.kind === "module" &&
        x.module.url === y.module.url &&
        x.module.export === y.module.export &&
        x.module.args.length === 0 &&
        y.module.args.length === 0;
  return (
    sameSource &&
    a.mode === b.mode &&
    a.interval === b.interval &&
    a.timeout === b.timeout &&
    a.retry === b.retry &&
    a.initialBackoff === b.initialBackoff &&
    a.maxBackoff === b.maxBackoff &&
    a.jitter === b.jitter &&
    a.dedupe === b.dedupe &&
    a.transform === b.transform &&
    a.stopTimeout === b.stopTimeout &&
    a.worker === b.worker &&
    a.isolation === b.isolation &&
    a.pool === b.pool
  );
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
  return { mode, url, export: source.export ?? "default", args };
}
