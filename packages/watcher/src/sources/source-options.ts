import { OptionsError, parseOptions } from "@specter/core";
import type { z } from "zod";

/**
 * Validates a file source's `path` and `options` together, so a bad one of either is an
 * `OptionsError` named `context` (e.g. `tail("/var/log/app.log")`) before anything is opened.
 */
export function parseSourceOptions<S extends z.ZodType>(
  schema: S,
  path: unknown,
  options: unknown,
  context: string,
): z.output<S> {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new OptionsError(context, [
      { option: "", value: options, expected: "an options object" },
    ]);
  }
  return parseOptions(schema, { ...(options as object | undefined), path }, context);
}
