/** Child processes for the package test: time-boxed, in their own process group, output kept. */

export interface Ran {
  code: number | null;
  out: string;
  err: string;
  timedOut: boolean;
}

/** Process groups of the children running now, so a signal to this script can take them down. */
export const running = new Set<number>();

export function killGroup(pgid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone already
  }
}

/**
 * Runs `argv` to the end with its output captured (never streamed), in its own process group
 * (`detached`), SIGKILLed with whatever it started in that group after `timeoutMs`.
 */
export async function run(
  argv: string[],
  options: { cwd: string; timeoutMs: number; env?: Record<string, string> },
): Promise<Ran> {
  const child = Bun.spawn(argv, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  running.add(child.pid);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid);
  }, options.timeoutMs);
  try {
    const [code, out, err] = await Promise.all([
      child.exited,
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
    ]);
    return { code, out, err, timedOut };
  } finally {
    clearTimeout(timer);
    killGroup(child.pid); // anything it left in its group
    running.delete(child.pid);
  }
}

/** The last `n` lines of `text`, indented, for a failure report. */
export function tail(text: string, n = 120): string {
  const lines = text.trimEnd().split("\n");
  const cut = lines.length > n ? [`… (${lines.length - n} lines before)`] : [];
  return [...cut, ...lines.slice(-n)].map((l) => `    ${l}`).join("\n");
}

/** Why a run failed, with the tail of its output: the message of a failed step. */
export function explain(what: string, r: Ran, timeoutMs: number): string {
  const why = r.timedOut ? `timed out after ${timeoutMs / 1000}s (killed)` : `exit code ${r.code}`;
  const last = (r.err.trim() || r.out.trim()).split("\n").at(-1)?.trim();
  const parts = [`${what}: ${why}${last ? ` — ${last}` : ""}`];
  if (r.out.trim()) parts.push(`  stdout:\n${tail(r.out)}`);
  if (r.err.trim()) parts.push(`  stderr:\n${tail(r.err)}`);
  return parts.join("\n");
}
