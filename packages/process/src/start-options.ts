/**
 * The options of `start(argv, options)`: validated at once, and checked against what the process
 * needs from them (a watched or `ready`-checked stream must be piped, `input` needs stdin), so
 * that a bad call throws before anything is spawned.
 */
import { messageOf, type OptionIssue, OptionsError, parseOptions } from "@specter/core";
import { z } from "zod";
import { AbortError } from "./errors.ts";
import type { StartOptions, StdioMode, StreamName } from "./types.ts";

export interface StartConfig {
  argv: string[];
  cwd: string | undefined;
  /** Variables on top of `process.env` (or instead of it without `extendEnv`). */
  env: Record<string, string | undefined> | undefined;
  extendEnv: boolean;
  stdin: StdioMode;
  stdout: StdioMode;
  stderr: StdioMode;
  /** Bytes for stdin (a copy, so every restart writes the same), or `undefined`. */
  input: Uint8Array | undefined;
  signal: AbortSignal | undefined;
}

/** What the checks need to know about the process being started. */
export interface StartContext {
  /** `ManagedProcess "name"`, for messages. */
  label: string;
  /** Whether the process has a `ready` option. */
  ready: boolean;
  /** Callbacks watching each stream. */
  watchers(stream: StreamName): number;
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
    .record(
      z.string(),
      // Named by its key ("env.PORT"): Bun would turn 3000 into "3000" but null into "null".
      z.union([z.string(), z.undefined()], {
        error:
          'a string, e.g. "3000" (environment values are text; undefined removes the variable)',
      }),
      { error: 'an object of string values, e.g. { DEBUG: "1" }' },
    )
    .optional(),
  extendEnv: z.boolean({ error: "true or false" }).default(true),
  stdin: stdioSchema.optional(),
  stdout: stdioSchema.default("inherit"),
  stderr: stdioSchema.default("inherit"),
  input: z
    .custom<string | Uint8Array>((v) => typeof v === "string" || v instanceof Uint8Array, {
      error: "a string or a Uint8Array, written to stdin",
    })
    .optional(),
  signal: z
    .custom<AbortSignal>((v) => v instanceof AbortSignal, {
      error: "an AbortSignal, e.g. new AbortController().signal or AbortSignal.timeout(ms)",
    })
    .optional(),
});

const objectSchema = z.record(z.string(), z.unknown(), { error: "an options object, or nothing" });

/** `undefined` becomes `{}`; anything but a plain object is an `OptionsError`. */
export function optionsObject(options: unknown, context: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    parseOptions(z.never({ error: "an options object, or nothing" }), options, context);
  }
  return parseOptions(objectSchema, options, context);
}

/**
 * Validates `start(argv, options)` for the process described by `target`.
 * @throws {OptionsError} a bad option, or one the process cannot work with.
 * @throws {AbortError} `signal` is already aborted.
 */
export function resolveStartOptions(
  argv: unknown,
  options: StartOptions | undefined,
  target: StartContext,
): StartConfig {
  const context = `${target.label}: start()`;
  const opts = optionsObject(options, context);
  const o = parseOptions(startSchema, { ...opts, argv }, context);
  const input = typeof o.input === "string" ? new TextEncoder().encode(o.input) : o.input?.slice();
  const config: StartConfig = {
    argv: o.argv,
    cwd: o.cwd,
    env: o.env,
    extendEnv: o.extendEnv,
    stdin: o.stdin ?? (input ? "pipe" : "ignore"),
    stdout: o.stdout,
    stderr: o.stderr,
    input,
    signal: o.signal,
  };
  const issues = pipeIssues(config, target);
  if (issues.length > 0) throw new OptionsError(context, issues);
  if (config.signal?.aborted) {
    const reason = config.signal.reason;
    throw new AbortError(
      `${context}: option "signal" is already aborted (${messageOf(reason)}); nothing was started`,
      { cause: reason },
    );
  }
  return config;
}

/** What the process needs piped and is not. */
function pipeIssues(config: StartConfig, target: StartContext): OptionIssue[] {
  const issues: OptionIssue[] = [];
  if (config.input !== undefined && config.stdin !== "pipe") {
    issues.push({
      option: "stdin",
      value: config.stdin,
      expected: '"pipe" or nothing: "input" is written to stdin',
    });
  }
  for (const stream of ["stdout", "stderr"] as const) {
    if (config[stream] !== "pipe" && target.watchers(stream) > 0) {
      issues.push({
        option: stream,
        value: config[stream],
        expected: `"pipe": watchStream("${stream}") has watchers, and only a pipe can be read`,
      });
    }
  }
  if (target.ready && config.stdout !== "pipe" && config.stderr !== "pipe") {
    for (const stream of ["stdout", "stderr"] as const) {
      issues.push({
        option: stream,
        value: config[stream],
        expected: '"pipe" for stdout or stderr: the "ready" option waits for a line of output',
      });
    }
  }
  return issues;
}

/** Calls `fn` once when `signal` aborts; returns what removes the listener (none without signal). */
export function onAbort(signal: AbortSignal | undefined, fn: () => void): () => void {
  if (!signal) return () => {};
  signal.addEventListener("abort", fn, { once: true });
  return () => signal.removeEventListener("abort", fn);
}
