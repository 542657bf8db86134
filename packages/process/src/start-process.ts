import { ManagedProcess } from "./managed-process.ts";
import type { CleanupOwner, ProcessOptions, StartOptions } from "./types.ts";

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
  const { owner, cwd, env, stdin, stdout, stderr, ...processOptions } = options ?? {};
  const proc = new ManagedProcess(name, processOptions);
  if (owner !== undefined) proc.attach(owner);
  const start: StartOptions = {};
  if (cwd !== undefined) start.cwd = cwd;
  if (env !== undefined) start.env = env;
  if (stdin !== undefined) start.stdin = stdin;
  if (stdout !== undefined) start.stdout = stdout;
  if (stderr !== undefined) start.stderr = stderr;
  return proc.start(argv, start);
}
