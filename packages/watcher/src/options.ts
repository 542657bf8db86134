/**
 * A watcher's options turned into its config: validated (fast-parse.ts, else the zod schema of
 * options-schema.ts), durations in milliseconds, a module source resolved to what a worker loads.
 * Internal.
 */
import { existsSync } from "node:fs";
import { isAbsolute } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { checkName, OptionsError, parseOptions } from "@specter/core";
import type { z } from "zod";
import { fastParse } from "./fast-parse.ts";
import { type moduleSourceSchema, schema } from "./options-schema.ts";
import type { WorkerPool } from "./pool.ts";
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

/** `dedupe: true`: one comparer for every watcher rather than a closure each. */
const deepEquals = (a: unknown, b: unknown): boolean => Bun.deepEquals(a, b);

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
