/**
 * Starts a child with `Bun.spawn` (argv array, never a shell) in a new session, so that it leads
 * its own process group and signals can reach its whole tree. Bun's `detached: true` calls
 * `setsid()` in the child before exec; the pid Bun returns is the child itself (no fork in between),
 * so pid == pgid.
 */
import { statSync } from "node:fs";
import { messageOf } from "@specter/core";
import type { Subprocess } from "bun";
import { SpawnError } from "./errors.ts";
import type { StartConfig } from "./options.ts";

export type Child = Subprocess<
  "pipe" | "inherit" | "ignore",
  "pipe" | "inherit" | "ignore",
  "pipe" | "inherit" | "ignore"
>;

/** Spawns `config.argv`; throws `SpawnError` naming what is wrong. Nothing is left behind on error. */
export function spawnChild(config: StartConfig, name: string): Child {
  const program = config.argv[0] as string;
  if (config.cwd !== undefined) checkCwd(config.cwd, name);
  try {
    // Bun writes `input` to a pipe and closes it; the subprocess then has no `stdin` sink.
    return Bun.spawn(config.argv, {
      cwd: config.cwd,
      env: childEnv(config),
      stdin: config.input ?? config.stdin,
      stdout: config.stdout,
      stderr: config.stderr,
      detached: true,
    }) as Child;
  } catch (error) {
    throw spawnError(error, program, name);
  }
}

/**
 * The child's environment: `env` over the host's current `process.env` (read at each spawn, so
 * a restart sees what changed), or `env` alone without `extendEnv`. Bun leaves out variables
 * whose value is `undefined`, which is how `env` removes one.
 */
export function childEnv(config: StartConfig): Record<string, string | undefined> {
  if (!config.extendEnv) return { ...config.env };
  return config.env === undefined ? process.env : { ...process.env, ...config.env };
}

function checkCwd(cwd: string, name: string): void {
  let isDir = false;
  try {
    isDir = statSync(cwd).isDirectory();
  } catch {
    throw new SpawnError(
      name,
      `cannot start: cwd ${JSON.stringify(cwd)} does not exist; pass an existing directory`,
      "ENOENT",
    );
  }
  if (!isDir) {
    throw new SpawnError(
      name,
      `cannot start: cwd ${JSON.stringify(cwd)} is not a directory; pass a directory`,
      "ENOTDIR",
    );
  }
}

function spawnError(error: unknown, program: string, name: string): SpawnError {
  const code = (error as { code?: unknown } | null)?.code;
  const codeText = typeof code === "string" ? code : undefined;
  const shown = JSON.stringify(program);
  const isPath = program.includes("/");
  let message: string;
  if (codeText === "ENOENT") {
    message = isPath
      ? `cannot start ${shown}: no such file; check the path`
      : `cannot start ${shown}: executable not found in PATH; install it, fix the name or pass its full path`;
  } else if (codeText === "EACCES") {
    message = `cannot start ${shown}: permission denied; it must be an executable file (chmod +x), not a directory`;
  } else {
    message = `cannot start ${shown}: ${messageOf(error)}`;
  }
  return new SpawnError(name, message, codeText, { cause: error });
}
