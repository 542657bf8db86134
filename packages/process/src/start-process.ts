import { ManagedProcess } from "./managed-process.ts";
import type { CleanupOwner, ProcessOptions, StartOptions } from "./types.ts";

/** The options that go to `start()`; the others are the constructor's. */
const START_KEYS = [
  "cwd",
  "env",
  "extendEnv",
  "stdin",
  "stdout",
  "stderr",
  "input",
  "signal",
] as const satisfies readonly (keyof StartOptions)[];

/**
 * Creates a managed process, attaches it to `owner` (if given) and starts it: the seed's
 * `start_process` helper.
 *
 * ```ts
 * const proc = startProcess("tunnel", ["cloudflared", "tunnel"], { owner: service, stdout: "pipe" });
 * ```
 */
export function startProcess(
  name: string,
  argv: string[],
  options: ProcessOptions & StartOptions & { owner?: CleanupOwner } = {},
): ManagedProcess {
  const { owner, ...rest } = options ?? {};
  const processOptions: Record<string, unknown> = { ...rest };
  const start: Record<string, unknown> = {};
  for (const key of START_KEYS) {
    if (processOptions[key] !== undefined) start[key] = processOptions[key];
    delete processOptions[key];
  }
  const proc = new ManagedProcess(name, processOptions as ProcessOptions);
  if (owner !== undefined) proc.attach(owner);
  return proc.start(argv, start as StartOptions);
}
