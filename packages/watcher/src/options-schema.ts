/**
 * The zod schema of a watcher's options: the rules, and the errors a caller sees. fast-parse.ts
 * accepts the same options without zod; options.ts turns either result into a config. Internal.
 */
import { backoffSchema, durationSchema, functionSchema } from "@specter/core";
import { z } from "zod";
import { WorkerPool } from "./pool.ts";

const MODULE_HINT =
  'a function, or a module source { module: new URL("./source.ts", import.meta.url), export?: string, args?: unknown[] }';

const JITTER = { error: "true, false, or a number from 0 to 1" };

export const moduleSourceSchema = z.strictObject({
  module: z.union([z.instanceof(URL), z.string().min(1)], {
    error:
      'a URL (new URL("./source.ts", import.meta.url)), a file: URL string or an absolute path',
  }),
  export: z.string({ error: "the name of an export, as a string" }).min(1).optional(),
  args: z.array(z.unknown(), { error: "an array of structured-clonable arguments" }).optional(),
});

const sourceSchema = z.union([functionSchema(), moduleSourceSchema], { error: MODULE_HINT });

export const schema = z
  .strictObject({
    poll: sourceSchema.optional(),
    stream: sourceSchema.optional(),
    interval: durationSchema({ positive: true }).optional(),
    timeout: durationSchema({ positive: true }).optional(),
    retry: z.boolean({ error: "true or false" }).default(true),
    // At least MIN_BACKOFF_MS: a source that fails at once would otherwise retry in a tight loop
    // (with isolation "process", a new subprocess each time: 289 in 3 s at 1 ms).
    initialBackoff: backoffSchema().default(1_000),
    maxBackoff: backoffSchema().optional(),
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

export type Parsed = z.output<typeof schema>;

/** The zod parse alone, for the tests that hold the fast path to it. */
export function zodParse(input: unknown): Parsed | undefined {
  const result = schema.safeParse(input);
  return result.success ? result.data : undefined;
}

/** The option names the schema knows. */
export const KNOWN = new Set(Object.keys(schema.shape));
