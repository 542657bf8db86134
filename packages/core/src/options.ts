import { z } from "zod";
import { DURATION_HINT, tryParseDuration } from "./duration.ts";

/** One thing wrong with the options given to a constructor or method. */
export interface OptionIssue {
  /** Dotted path of the option, e.g. `"restart.maxRestarts"`; `""` for the whole argument. */
  option: string;
  /** What was given (absent for a missing option). */
  value?: unknown;
  /** What is allowed, in words. */
  expected: string;
}

/**
 * Thrown synchronously for bad input. The message names each option, what it was given and what
 * is allowed; `issues` has the same in structured form. Nothing has been started when it is thrown.
 */
export class OptionsError extends TypeError {
  override readonly name = "OptionsError";
  constructor(
    readonly context: string,
    readonly issues: OptionIssue[],
  ) {
    super(`${context}: ${issues.map(describeIssue).join("; ")}`);
  }
}

function describeIssue(issue: OptionIssue): string {
  const where = issue.option === "" ? "value" : `option "${issue.option}"`;
  const got = "value" in issue ? ` got ${showValue(issue.value)}` : " is missing";
  return `${where}${got}: expected ${issue.expected}`;
}

/** A short, single-line rendering of any value for error messages. */
export function showValue(value: unknown): string {
  if (typeof value === "function") return `a function${value.name ? ` (${value.name})` : ""}`;
  if (typeof value === "string")
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  const text = Bun.inspect(value, { depth: 1, colors: false })
    .replace(/\s+/g, " ")
    .replace(/, ([}\]])/g, " $1");
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(input: unknown, path: PropertyKey[]): { found: boolean; value?: unknown } {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== "object" || !(key in current))
      return { found: false };
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return { found: current !== undefined, value: current };
}

/**
 * Validates `input` against `schema`, turning zod's issues into an `OptionsError` whose message a
 * person can act on. `context` says whose options they are, e.g. `Watcher "disk"`.
 */
export function parseOptions<S extends z.ZodType>(
  schema: S,
  input: unknown,
  context: string,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues: OptionIssue[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeys(schema, issue.path);
      for (const key of issue.keys) {
        issues.push({
          option: [...issue.path, key].join("."),
          value: valueAt(input, [...issue.path, key]).value,
          expected: `no such option${allowed ? `; known options are ${allowed}` : ""}`,
        });
      }
      continue;
    }
    const at = valueAt(input, issue.path);
    const entry: OptionIssue = { option: issue.path.join("."), expected: expectedText(issue) };
    if (at.found) entry.value = at.value;
    issues.push(entry);
  }
  throw new OptionsError(context, issues);
}

/** zod's own message ("Invalid input: ...") when a schema gave none of its own. */
const ZOD_DEFAULT = /^Invalid input/;

function expectedText(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && !ZOD_DEFAULT.test(issue.message)) return issue.message;
  if (issue.code === "invalid_type") return typeWords(issue.expected);
  if (issue.code === "invalid_value")
    return `one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
  // A union without a message of its own: what each of its members takes, e.g. "a string or
  // undefined" (zod says only "Invalid input").
  if (issue.code === "invalid_union" && ZOD_DEFAULT.test(issue.message)) {
    const forms = issue.errors.flatMap((branch) => (branch[0] ? [expectedText(branch[0])] : []));
    if (forms.length > 0) return [...new Set(forms)].join(" or ");
  }
  return issue.message;
}

/** A zod type name in words: "string" is "a string", "object" "an object". */
function typeWords(type: string): string {
  if (type === "undefined" || type === "null") return type;
  if (type === "boolean") return "true or false";
  return `${/^[aeiou]/.test(type) ? "an" : "a"} ${type}`;
}

function allowedKeys(schema: z.ZodType, path: PropertyKey[]): string | undefined {
  let current: unknown = schema;
  for (const key of path) {
    const shape = (current as { shape?: Record<PropertyKey, unknown> }).shape;
    current = unwrapToObject(shape?.[key]);
  }
  const shape = (current as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape).join(", ") : undefined;
}

/** Unwraps optional/default wrappers and picks the object member of a union, to list its keys. */
function unwrapToObject(schema: unknown): unknown {
  let current = schema;
  while (current && typeof current === "object" && "unwrap" in current) {
    current = (current as { unwrap(): unknown }).unwrap();
  }
  const options = (current as { options?: unknown[] } | undefined)?.options;
  return Array.isArray(options)
    ? options.find((o) => o && typeof o === "object" && "shape" in o)
    : current;
}

/** Longest delay a timer can take (2^31 - 1 ms, about 24.8 days); longer ones would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Shortest backoff delay, in milliseconds. A process that crashes at once and is restarted after
 * 0 ms restarts in a tight loop (434 restarts a second measured, a spawn each, with nothing gained
 * by the retry); 10 ms bounds that to 100 a second at worst and is still shorter than any spawn
 * worth retrying.
 */
export const MIN_BACKOFF_MS = 10;

/**
 * Zod schema for a duration option: accepts milliseconds or a duration string, outputs
 * milliseconds. `positive` rejects zero; `min` rejects anything shorter (in milliseconds).
 */
export function durationSchema(options: { positive?: boolean; min?: number } = {}) {
  const min = options.min ?? 0;
  const expected =
    min > 0
      ? `a duration from ${min}ms to 24 days (${DURATION_HINT})`
      : options.positive
        ? `a duration greater than 0 (${DURATION_HINT})`
        : `a duration (${DURATION_HINT})`;
  return z.unknown().transform((value, ctx) => {
    const ms = tryParseDuration(value);
    if (ms === undefined || (options.positive && ms === 0) || ms < min) {
      ctx.addIssue({ code: "custom", message: expected });
      return z.NEVER;
    }
    if (ms > MAX_TIMER_MS) {
      ctx.addIssue({
        code: "custom",
        message: `a duration up to 24 days (${MAX_TIMER_MS}ms): timers cannot wait longer`,
      });
      return z.NEVER;
    }
    return ms;
  });
}

/** Zod schema for a backoff delay option (`initialBackoff`, `maxBackoff`): `MIN_BACKOFF_MS` or more. */
export function backoffSchema() {
  return durationSchema({ min: MIN_BACKOFF_MS });
}

/** Zod schema for a function option (zod 4's `z.function()` is not a schema). */
export function functionSchema<F extends (...args: never[]) => unknown>(what = "a function") {
  return z.custom<F>((value) => typeof value === "function", { message: what });
}

const nameSchema = z.strictObject({
  name: z.string({ error: "a non-empty string" }).min(1, { error: "a non-empty string" }),
});

/**
 * Validates the name a Watcher, ManagedProcess, Service or Scope is given (a non-empty string);
 * `kind` is the class, for the message.
 * @throws {OptionsError} naming the option "name".
 */
export function checkName(name: unknown, kind: string): string {
  return parseOptions(nameSchema, { name }, kind).name;
}
